"""P&L aggregation against sums worked out by hand, on fills booked by the real ledger,
around UTC day, week and month boundaries, on SQLite and PostgreSQL."""

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db import pnl
from botdesk.db.models import Bot, Fill, Order, Position
from botdesk.db.pnl import GroupBy, Period
from botdesk.engine.ledger import BrokerFill, record_fill
from tests.factories import make_bot

_ids = itertools.count(1)
D = Decimal


def trade(db, bot, side: str, quantity: str, price: str, fee: str, at: datetime):
    """An order filled in one go, booked through the ledger as a broker's fill would be."""
    with db.writing() as session:
        order = Order(
            bot_id=bot.id,
            client_order_id=f"t-{next(_ids)}",
            symbol=bot.symbol,
            side=side,
            quantity=D(quantity),
            created_at=at,
        )
        session.add(order)
        session.flush()
        fill = BrokerFill(
            order_id=order.id,
            trade_id="1",
            quantity=D(quantity),
            price=D(price),
            fee=D(fee),
            fee_asset="USDT",
            fee_quote=D(fee),
            filled_at=at,
        )
        record_fill(session=session, order=order, fill=fill)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def booked(db):
    """Two bots, two symbols; fills on Sun 2024-03-31 23:59:59 and Mon 2024-04-01 00:00:00
    (a day, an ISO week and a month apart), and more in the same week."""
    alpha = make_bot(db, name="alpha", symbol="BTCUSDT")
    beta = make_bot(db, name="beta", symbol="ETHUSDT")
    # alpha: buy 0.5 @ 60000 (fee 30)  -> realized -30
    trade(db, alpha, "buy", "0.5", "60000", "30", at("2024-03-31T23:59:59.999999"))
    # alpha: sell 0.2 @ 61000.12345678 (fee 12.20002469) -> 12200.02469136 - 12000 - 12.20002469
    trade(db, alpha, "sell", "0.2", "61000.12345678", "12.20002469", at("2024-04-01T00:00:00"))
    # alpha: sell 0.3 @ 59000 (fee 17.7) -> 17700 - 18000 - 17.7 = -317.7
    trade(db, alpha, "sell", "0.3", "59000", "17.7", at("2024-04-03T10:00:00"))
    # beta: buy 1.5 @ 3000.5 (fee 4.50075) -> -4.50075
    trade(db, beta, "buy", "1.5", "3000.5", "4.50075", at("2024-04-01T08:30:00"))
    # beta: sell 1.5 @ 3100 (fee 4.65) -> 4650 - 4500.75 - 4.65 = 144.6
    trade(db, beta, "sell", "1.5", "3100", "4.65", at("2024-04-08T00:00:01"))
    return alpha, beta


ALPHA_APR_1 = D("12200.02469136") - D(12000) - D("12.20002469")  # 187.82466667


def test_daily_sums_per_bot_split_at_utc_midnight(db, booked):
    with db.reading() as session:
        rows = pnl.report(session=session, period=Period.DAY, by=GroupBy.BOT)
    got = {(row.period, row.group): (row.fills, row.realized_pnl, row.fees) for row in rows}
    assert got == {
        (date(2024, 3, 31), "alpha"): (1, D("-30"), D("30")),
        (date(2024, 4, 1), "alpha"): (1, ALPHA_APR_1, D("12.20002469")),
        (date(2024, 4, 3), "alpha"): (1, D("-317.7"), D("17.7")),
        (date(2024, 4, 1), "beta"): (1, D("-4.50075"), D("4.50075")),
        (date(2024, 4, 8), "beta"): (1, D("144.6"), D("4.65")),
    }
    assert D("187.82466667") == ALPHA_APR_1


def test_weeks_start_on_monday_and_months_on_the_first(db, booked):
    with db.reading() as session:
        weeks = pnl.report(session=session, period=Period.WEEK, by=GroupBy.SYMBOL)
        months = pnl.report(session=session, period=Period.MONTH, by=GroupBy.SYMBOL)
    assert [(r.period, r.group, r.fills, r.realized_pnl) for r in weeks] == [
        (date(2024, 3, 25), "BTCUSDT", 1, D("-30")),
        (date(2024, 4, 1), "BTCUSDT", 2, ALPHA_APR_1 + D("-317.7")),
        (date(2024, 4, 1), "ETHUSDT", 1, D("-4.50075")),
        (date(2024, 4, 8), "ETHUSDT", 1, D("144.6")),
    ]
    assert [(r.period, r.group, r.fills, r.realized_pnl, r.fees) for r in months] == [
        (date(2024, 3, 1), "BTCUSDT", 1, D("-30"), D("30")),
        (date(2024, 4, 1), "BTCUSDT", 2, D("-129.87533333"), D("29.90002469")),
        (date(2024, 4, 1), "ETHUSDT", 2, D("140.09925"), D("9.15075")),
    ]
    assert pnl.period_label(date(2024, 4, 1), Period.WEEK) == "2024-W14 (from Apr 1)"


def test_the_range_includes_both_days_and_whole_periods(db, booked):
    with db.reading() as session:
        one_day = pnl.report(
            session=session,
            period=Period.DAY,
            by=GroupBy.BOT,
            since=date(2024, 4, 1),
            until=date(2024, 4, 1),
        )
        # A range starting mid-week still covers that whole week.
        week = pnl.report(
            session=session,
            period=Period.WEEK,
            by=GroupBy.BOT,
            since=date(2024, 4, 3),
            until=date(2024, 4, 7),
        )
        latest = pnl.latest_fill_day(session=session)
    assert sorted((r.group, r.realized_pnl) for r in one_day) == [
        ("alpha", ALPHA_APR_1),
        ("beta", D("-4.50075")),
    ]
    assert [(r.group, r.fills) for r in week] == [("alpha", 2), ("beta", 1)]
    assert latest == date(2024, 4, 8)


def test_totals_equal_the_ledgers_position_pnl(db, booked):
    """What the report adds up per bot is what the ledger put on the positions."""
    with db.reading() as session:
        rows = pnl.report(session=session, period=Period.MONTH, by=GroupBy.BOT)
        positions = session.exec(select(Position)).all()
    by_bot = {}
    for row in rows:
        by_bot[row.group] = by_bot.get(row.group, D(0)) + row.realized_pnl
    names = {booked[0].id: "alpha", booked[1].id: "beta"}
    assert by_bot == {names[p.bot_id]: p.realized_pnl for p in positions}


def test_no_fills_no_rows(db):
    with db.reading() as session:
        assert pnl.report(session=session, period=Period.WEEK, by=GroupBy.BOT) == []
        assert pnl.latest_fill_day(session=session) is None


def late_fill(db, bot, fill_id: int, realized: str, at_time: datetime) -> None:
    """A fill row with a chosen id, as a transaction that took its id early and committed
    late leaves it."""
    with db.writing() as session:
        order_id = session.exec(select(Order.id).where(Order.bot_id == bot.id)).first()
        session.add(
            Fill(
                id=fill_id,
                order_id=order_id,
                bot_id=bot.id,
                trade_id=f"late-{fill_id}",
                symbol=bot.symbol,
                side="sell",
                quantity=D("0.01"),
                price=D("60000"),
                realized_pnl=D(realized),
                filled_at=at_time,
            )
        )


def april_by_bot(db) -> dict[str, Decimal]:
    with db.reading() as session:
        rows = pnl.report(session=session, period=Period.MONTH, by=GroupBy.BOT)
    return {row.group: row.realized_pnl for row in rows if row.period == date(2024, 4, 1)}


def test_kept_totals_follow_new_late_and_deleted_fills(db, booked, monkeypatch):
    alpha, beta = booked
    monkeypatch.setattr(pnl, "RECOUNT_SECONDS", 3600)
    assert april_by_bot(db) == {"alpha": D("-129.87533333"), "beta": D("140.09925")}
    late_fill(db, alpha, 1000, "1.00000001", at("2024-04-20T12:00:00"))
    assert april_by_bot(db)["alpha"] == D("-128.87533332")  # a new fill: seen at once
    with db.writing() as session:
        session.delete(session.get(Bot, beta.id))  # its fills go with it
    assert april_by_bot(db) == {"alpha": D("-128.87533332")}  # seen at once
    late_fill(db, alpha, 500, "2", at("2024-04-21T12:00:00"))  # below the newest id seen
    assert april_by_bot(db)["alpha"] == D("-128.87533332")  # not yet: no recount due
    monkeypatch.setattr(pnl, "RECOUNT_SECONDS", 0)
    assert april_by_bot(db)["alpha"] == D("-126.87533332")  # the recount finds it


def test_warmed_totals_leave_the_first_report_only_new_fills_to_sum(db, booked, monkeypatch):
    alpha, _ = booked
    with db.reading() as session:
        pnl.warm(session=session)
        newest = session.exec(select(Fill.id).order_by(Fill.id.desc())).first()
    summed_after = []
    sum_by_day = pnl._sum_by_day

    def watched(session, *, after_id, up_to_id):
        summed_after.append(after_id)
        return sum_by_day(session, after_id=after_id, up_to_id=up_to_id)

    monkeypatch.setattr(pnl, "_sum_by_day", watched)
    late_fill(db, alpha, 10**6, "3", at("2024-04-22T12:00:00"))
    assert april_by_bot(db)["alpha"] == D("-126.87533333")  # the warmed sums, plus the new fill
    assert summed_after == [newest]  # only the fill written after the warm-up was summed
