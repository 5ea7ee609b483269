"""The watchdog's jobs on a real database: the heartbeat announced stale once and
recovered once, risk refusals as one message per bot, rule and window, the daily summary
once per day with P&L, positions and exposure."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import col, select

from botdesk.alerts import daily_summary, heartbeat_watch
from botdesk.alerts.refusals import RefusalDigest, window_start
from botdesk.db import engine_state
from botdesk.db.models import Fill, Notification, Order, RiskEvent, RiskLimit
from tests.factories import make_bot, make_position

NOON = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def announced(db, kind_prefix: str = "") -> list[Notification]:
    with db.reading() as session:
        rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
    return [row for row in rows if row.kind.startswith(kind_prefix)]


def beat(db, at: datetime) -> None:
    with db.writing() as session:
        state = engine_state.get(session=session)
        state.last_beat = at
        state.engine_id = "engine-1"
        session.add(state)


def check(db, now: datetime):
    with db.writing() as session:
        return heartbeat_watch.check(session, stale_seconds=10, now=now)


def test_a_stale_heartbeat_is_announced_once_and_its_recovery_once(db):
    assert check(db, NOON) is None  # no engine ever ran
    beat(db, NOON)
    assert check(db, NOON + timedelta(seconds=10)) is None  # at the limit: not stale
    stale = check(db, NOON + timedelta(seconds=11))
    assert stale.kind == "engine.stale" and "12:00:00 UTC" in stale.body
    for seconds in (12, 60, 600):  # still dead: said once
        assert check(db, NOON + timedelta(seconds=seconds)) is None
    beat(db, NOON + timedelta(seconds=700))
    recovered = check(db, NOON + timedelta(seconds=701))
    assert recovered.kind == "engine.recovered"
    assert check(db, NOON + timedelta(seconds=702)) is None
    beat(db, NOON + timedelta(seconds=800))  # dies again later: a new announcement
    assert check(db, NOON + timedelta(seconds=820)).kind == "engine.stale"
    assert [n.kind for n in announced(db)] == ["engine.stale", "engine.recovered", "engine.stale"]


def refuse(db, bot_id: int, rule: str, at: datetime, message: str = "too big") -> None:
    with db.writing() as session:
        session.add(RiskEvent(bot_id=bot_id, kind="refused", rule=rule, message=message, at=at))


def test_refusals_are_one_message_per_bot_rule_and_closed_window(db):
    bot = make_bot(db, name="alpha")
    other = make_bot(db, name="beta")
    start = window_start(NOON, 5)
    for minute in range(5):  # one refusal per candle for five minutes
        refuse(db, bot.id, "max_position", start + timedelta(minutes=minute), f"m{minute}")
    refuse(db, bot.id, "daily_loss", start + timedelta(minutes=1))
    refuse(db, other.id, "max_position", start + timedelta(minutes=2))
    refuse(db, bot.id, "max_position", start + timedelta(minutes=5))  # the next window
    digest = RefusalDigest(5)
    with db.writing() as session:  # the window has not closed (+ settling) yet
        assert digest.run(session, now=start + timedelta(minutes=5, seconds=10)) == 0
    with db.writing() as session:
        assert digest.run(session, now=start + timedelta(minutes=5, seconds=31)) == 3
    with db.writing() as session:  # a second look changes nothing
        assert RefusalDigest(5).run(session, now=start + timedelta(minutes=5, seconds=40)) == 0
    messages = {n.title: json.loads(n.payload)["count"] for n in announced(db, "risk.refused")}
    assert messages == {
        "Risk refused 5 order(s) of alpha (BTCUSDT 1m): max_position": 5,
        "Risk refused 1 order(s) of alpha (BTCUSDT 1m): daily_loss": 1,
        "Risk refused 1 order(s) of beta (BTCUSDT 1m): max_position": 1,
    }
    latest = next(n for n in announced(db, "risk.refused") if "5 order" in n.title)
    assert "Latest: m4" in latest.body


def test_the_daily_summary_says_each_bots_pnl_positions_and_exposure_once(db):
    alpha = make_bot(db, name="alpha")
    beta = make_bot(db, name="beta")
    day = NOON.date()
    with db.writing() as session:
        for bot, pnl, at in (
            (alpha, Decimal("12.5"), NOON),
            (alpha, Decimal("-2.25"), NOON + timedelta(hours=1)),
            (beta, Decimal("7"), NOON),
            (beta, Decimal("100"), NOON - timedelta(days=1)),  # another day
        ):
            order = Order(
                bot_id=bot.id,
                client_order_id=f"o-{bot.id}-{at.timestamp()}",
                symbol="BTCUSDT",
                side="sell",
                quantity=Decimal("0.1"),
            )
            session.add(order)
            session.flush()
            session.add(
                Fill(
                    order_id=order.id,
                    bot_id=bot.id,
                    trade_id=f"t{order.id}",
                    symbol="BTCUSDT",
                    side="sell",
                    quantity=Decimal("0.1"),
                    price=Decimal("60000"),
                    realized_pnl=pnl,
                    filled_at=at,
                )
            )
        session.add(RiskLimit(kind="max_total_exposure", value=Decimal("50000")))
    make_position(
        db,
        alpha,
        quantity=Decimal("0.5"),
        last_price=Decimal("61000"),
        unrealized_pnl=Decimal("500"),
    )
    midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    with db.writing() as session:
        assert daily_summary.run(session, now=midnight + timedelta(seconds=5)) is True
    with db.writing() as session:
        assert daily_summary.run(session, now=midnight + timedelta(minutes=1)) is False
    (summary,) = announced(db, "summary.daily")
    assert summary.title == f"Daily summary {day}: realized 17.25"
    lines = summary.body.splitlines()
    assert lines[0] == "Total realized 17.25, unrealized 500"
    assert "- alpha: realized 10.25, unrealized 500" in lines
    assert "- beta: realized 7, unrealized 0" in lines
    assert "Open positions: 1" in lines
    assert "- alpha BTCUSDT: 0.5 worth 30500" in lines
    assert lines[-1] == "Exposure: 30500 of 50000 allowed"
    assert json.loads(summary.payload)["realized_pnl"] == "17.25"


def test_the_summary_is_not_caught_up_late_in_the_day(db):
    with db.writing() as session:
        assert daily_summary.run(session, now=NOON) is False
    assert announced(db) == []
