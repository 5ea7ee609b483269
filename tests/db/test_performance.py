"""The desk's and a bot's equity, return and drawdown from the real tables: bots created,
deleted or given more capital move the equity as flows, never the return or drawdown;
each bot's newest snapshot per bucket is summed and carried forward."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import select

from botdesk.db import capital_flows, performance
from botdesk.db.models import Bot, CapitalFlow, DeletedBotEquity, EquitySnapshot
from botdesk.db.twr import RATIOS
from tests.factories import make_bot, make_position

D = Decimal
DAY = datetime(2024, 10, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def snapshot(bot_id: int, minute: int, equity: str) -> EquitySnapshot:
    at = DAY + minute * MINUTE
    equity = D(equity)
    return EquitySnapshot(
        bot_id=bot_id, at=at, candle_open_ms=int(at.timestamp() * 1000), equity=equity, cash=equity
    )


def write(db, rows) -> None:
    with db.writing() as session:
        session.add_all(rows)


def create_bot(db, name: str, capital: str) -> Bot:
    """As the Bots page creates one: the bot and its flow in one transaction."""
    with db.writing() as session:
        bot = Bot(name=name, strategy="ema_cross", symbol="BTCUSDT", capital=D(capital))
        session.add(bot)
        session.flush()
        capital_flows.bot_created(session=session, bot=bot, actor="admin")
    return bot


def desk(db, **window) -> performance.Performance:
    with db.reading() as session:
        return performance.performance(session=session, days=1, points=1440, **window)


def test_two_bots_created_raise_the_equity_not_the_return(db):
    """Issue 14: three bots of 10,000 lose 1.7 %, then two bots are created with 3,500
    each. The total equity rises by the 7,000 that came in; the return and the drawdown
    stay the real -1.7 %."""
    old = [make_bot(db, name=f"pf-old-{n}").id for n in range(3)]
    write(db, [snapshot(bot, minute, "10000") for bot in old for minute in range(10)])
    write(db, [snapshot(bot, minute, "9830") for bot in old for minute in range(10, 20)])
    before = desk(db)
    assert before.equity == D("29490") and before.time_weighted_return == D("-0.017")
    new = [create_bot(db, f"pf-new-{n}", "3500").id for n in range(2)]
    write(db, [snapshot(bot, minute, "9830") for bot in old for minute in range(20, 30)])
    write(db, [snapshot(bot, minute, "3500") for bot in new for minute in range(20, 30)])
    after = desk(db)
    assert after.equity == D("36490")  # 29,490 + 7,000
    assert after.time_weighted_return == D("-0.017")
    assert after.drawdown == D("-0.017") and after.max_drawdown == D("-0.017")
    assert after.net_flows == D("7000") and after.pnl == D("-510")
    flows_at = {point.at: point.flow for point in after.points[1:] if point.flow}
    # where the new bots' equity first shows: their first minute's bucket, at its end
    assert flows_at == {DAY + 21 * MINUTE: D("7000")}
    assert [(m.kind, m.amount, m.at) for m in after.marks] == [
        ("created", D("3500"), DAY + 21 * MINUTE)
    ] * 2


def test_a_real_loss_after_capital_came_in_reads_as_a_loss(db):
    old = make_bot(db, name="pf-alone")
    write(db, [snapshot(old.id, minute, "10000") for minute in range(5)])
    new = create_bot(db, "pf-later", "10000")
    write(db, [snapshot(old.id, 5, "9900"), snapshot(new.id, 5, "9900")])  # both lose 1 %
    found = desk(db)
    assert found.equity == D("19800") and found.time_weighted_return == D("-0.01")
    assert found.points[-1].pnl == D("-200")


def test_a_deleted_bot_leaves_as_a_flow_and_keeps_its_history(db):
    stays = make_bot(db, name="pf-stays")
    goes = make_bot(db, name="pf-goes", capital=D("5000"))
    make_position(db, goes, status="closed", quantity=D(0), cost_basis=D(0), realized_pnl=D(100))
    write(db, [snapshot(stays.id, minute, "10000") for minute in range(3)])
    write(db, [snapshot(goes.id, minute, "5000") for minute in range(2)])
    write(db, [snapshot(goes.id, 2, "5100")])  # +100 before it is deleted
    with db.writing() as session:
        bot = session.get(Bot, goes.id)
        flow = capital_flows.bot_deleted(session=session, bot=bot, actor="admin")
        session.delete(bot)
    assert (flow.kind, flow.amount) == ("deleted", D("-5100"))  # capital and realized P&L
    write(db, [snapshot(stays.id, minute, "10000") for minute in range(3, 6)])
    found = desk(db)
    by_time = {point.at: point for point in found.points}
    assert by_time[DAY + 3 * MINUTE].equity == D("15100")  # its history is still there
    (out,) = [point for point in found.points if point.flow < 0]
    assert out.at == DAY + 3 * MINUTE + timedelta(microseconds=1)  # just after its last
    assert (out.equity, out.flow, out.pnl) == (D("10000"), D("-5100"), 0)  # what it held
    assert found.equity == D("10000")
    assert found.points[-1].index == RATIOS.add(1, RATIOS.divide(D(100), D(15000)))  # +100
    assert found.drawdown == 0
    with db.reading() as session:
        kept = session.exec(select(DeletedBotEquity).where(DeletedBotEquity.bot_id == goes.id))
        assert sorted(row.equity for row in kept) == [D("5000"), D("5000"), D("5100")]
        assert (
            session.exec(select(EquitySnapshot).where(EquitySnapshot.bot_id == goes.id)).all() == []
        )


def test_capital_changed_is_a_flow_for_the_bot_and_the_desk(db):
    bot = make_bot(db, name="pf-topped-up")
    write(db, [snapshot(bot.id, minute, "10000") for minute in range(3)])
    with db.writing() as session:
        row = session.get(Bot, bot.id)
        before, row.capital = row.capital, D("15000")
        capital_flows.capital_changed(session=session, bot=row, before=before, actor="admin")
        assert (
            capital_flows.capital_changed(session=session, bot=row, before=row.capital, actor="a")
            is None
        )
    write(db, [snapshot(bot.id, 3, "15000"), snapshot(bot.id, 4, "14850")])
    for found in (desk(db), desk(db, bot_id=bot.id)):
        assert found.equity == D("14850")
        assert found.time_weighted_return == D("-0.01")  # -150 on 15,000; not +48.5 %
        assert found.net_flows == D("5000")
        assert [m.kind for m in found.marks] == ["changed"]
    with db.reading() as session:
        (flow,) = session.exec(select(CapitalFlow)).all()
    assert (flow.bot_id, flow.bot_name, flow.amount, flow.actor) == (
        bot.id,
        "pf-topped-up",
        D("5000"),
        "admin",
    )
    assert flow.at == DAY + 2 * MINUTE  # the market's clock, between the snapshots


def test_no_snapshot_no_series(db):
    found = desk(db)
    assert found.points == [] and found.equity is None and found.time_weighted_return == 0


def test_newest_snapshot_per_bucket_summed_and_carried_forward(db):
    alpha, beta = make_bot(db, name="pf-alpha"), make_bot(db, name="pf-beta")
    now = DAY + timedelta(hours=12)
    hour = now - timedelta(hours=3)
    rows = [
        (alpha, now - timedelta(days=2), "999"),  # before the window
        (alpha, hour + 10 * MINUTE, "100"),
        (alpha, hour + 50 * MINUTE, "120"),  # newest of its hour
        (beta, hour + 30 * MINUTE, "50"),
        (alpha, hour + 65 * MINUTE, "90"),  # beta silent
        (beta, hour + timedelta(hours=2), "60"),
        (alpha, now, "110"),
    ]
    write(
        db,
        [
            EquitySnapshot(
                bot_id=bot.id,
                at=at,
                candle_open_ms=int(at.timestamp() * 1000),
                equity=D(equity),
                cash=D(equity),
            )
            for bot, at, equity in rows
        ],
    )
    with db.reading() as session:
        found = performance.performance(session=session, days=1, points=24)
    assert [(p.at, p.equity) for p in found.points] == [
        (hour + 10 * MINUTE, D("150")),  # the opening: each bot's oldest of the first hour
        (hour + timedelta(hours=1), D("170")),  # the hour's newest, at its end
        (hour + timedelta(hours=2), D("140")),  # beta's 50 carried forward
        (now, D("170")),  # alpha's 90 carried to 11:00, then its 110 at 12:00 (the end)
    ]
    assert found.points[1].pnl == 20 and found.points[2].pnl == -30
    assert abs(found.points[2].drawdown - (RATIOS.divide(D(140), D(170)) - 1)) < D("1e-25")
