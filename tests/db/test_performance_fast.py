"""Issue 20 item 4: botdesk.db.performance's faster queries (the newest snapshot per bucket
by a grouped max(id), every bot's opening row in one statement) give exactly the figures
of the queries they replaced (tests/db/reference_performance.py), on a desk of bots
marked to real BTCUSDT 1m closes: equity, flows, P&L, return and drawdown to the last
digit, point by point, for the desk and each bot, over several windows."""

import csv
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import select

from botdesk.db import capital_flows, performance
from botdesk.db.models import Bot, EquitySnapshot
from tests.conftest import SHARED_DATA
from tests.db import reference_performance

D = Decimal
UNIT = D("1E-8")
QUANTITIES = (D("0.05"), D("0.12"), D("-0.03"), D("0.2"))  # each bot's BTC held
EVERY = (1, 1, 5, 3)  # minutes between a bot's snapshots


def closes(count: int) -> list[tuple[int, Decimal]]:
    with (SHARED_DATA / "BTCUSDT-1m.csv").open() as handle:
        rows = itertools.islice(csv.DictReader(handle), count)
        return [(int(row["open_time_ms"]), D(row["close"])) for row in rows]


def snapshots(bots: list[Bot], candles: list[tuple[int, Decimal]]) -> list[dict]:
    rows = []
    for number, bot in enumerate(bots):
        opened = candles[0][1]
        for index, (open_ms, close) in enumerate(candles):
            if index % EVERY[number]:
                continue
            quantity = QUANTITIES[number]
            equity = (bot.capital + quantity * (close - opened)).quantize(UNIT)
            at = datetime.fromtimestamp(open_ms / 1000 + 60, UTC)
            rows.append({"bot_id": bot.id, "at": at, "candle_open_ms": open_ms, "equity": equity})
    return [{**row, "cash": row["equity"]} for row in rows]


def write(db, bots: list[Bot], candles) -> None:
    with db.writing() as session:
        session.execute(insert(EquitySnapshot), snapshots(bots, candles))


def seeded(db) -> list[int]:
    """Four bots created with flows, trading two days of real minutes; one gets more
    capital after the first day, another is deleted after 30 hours."""
    candles = closes(2 * 1440)
    with db.writing() as session:
        bots = []
        for number, capital in enumerate(("10000", "2500", "4000", "7000")):
            bot = Bot(name=f"fast-{number}", strategy="ema_cross", symbol="BTCUSDT")
            bot.capital = D(capital)
            session.add(bot)
            session.flush()
            capital_flows.bot_created(session=session, bot=bot, actor="admin")
            bots.append(bot)
        session.expunge_all()
    write(db, bots, candles[:1440])
    with db.writing() as session:
        more = session.get(Bot, bots[1].id)
        before = more.capital
        more.capital = before + D("1234.56789012")
        capital_flows.capital_changed(session=session, bot=more, before=before, actor="admin")
        bots[1] = Bot(**{**more.model_dump(), "capital": more.capital})
    write(db, bots, candles[1440 : 1440 + 360])
    with db.writing() as session:
        gone = session.get(Bot, bots[3].id)
        capital_flows.bot_deleted(session=session, bot=gone, actor="admin")
        session.delete(gone)
    write(db, bots[:3], candles[1440 + 360 :])
    return [bot.id for bot in bots]


def windows(db, ids: list[int]) -> list[dict]:
    with db.reading() as session:
        end = session.exec(select(EquitySnapshot.at).order_by(EquitySnapshot.at.desc())).first()
    found = [{}, {"days": 1, "points": 97}, {"days": 2, "points": 1440}, {"points": 7}]
    found += [{"bot_id": bot, "days": 2} for bot in ids]
    found += [{"since": end - timedelta(hours=20), "until": end - timedelta(hours=3)}]
    return found


def test_the_fast_queries_give_the_reference_figures(db):
    ids = seeded(db)
    for window in windows(db, ids):
        with db.reading() as session:
            fast = performance.performance(session=session, **window)
            reference = reference_performance.performance(session=session, **window)
        assert fast.points, window
        assert fast.points == reference.points, window  # every point, every Decimal
        assert fast.marks == reference.marks, window
        assert fast.bucket_ms == reference.bucket_ms
        assert (fast.equity, fast.time_weighted_return, fast.max_drawdown, fast.net_flows) == (
            reference.equity,
            reference.time_weighted_return,
            reference.max_drawdown,
            reference.net_flows,
        )
    with db.reading() as session:
        desk = performance.performance(session=session, days=2)
    kinds = {mark.kind for mark in desk.marks}
    assert {"changed", "deleted"} <= kinds  # (the creations are older than the clock)
    assert desk.max_drawdown < 0 and desk.pnl != 0
