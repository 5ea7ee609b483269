"""The risk limits measure P&L, not capital flows: capital added to a bot neither hides a
real loss from the daily loss limit nor lifts the drawdown's peak, and capital taken out
is neither a loss today nor a drawdown. Real database, the real order path."""

from datetime import timedelta
from decimal import Decimal

from sqlmodel import select

from botdesk.db import capital_flows
from botdesk.db.models import Bot, CapitalFlow, EquitySnapshot
from botdesk.engine.risk import measures
from tests.engine.test_ledger import AT
from tests.engine.test_risk import _losing_today, allowed, limit, order, refused
from tests.factories import make_bot

D = Decimal


def change_capital(db, bot: Bot, capital: str) -> CapitalFlow:
    """As the Bots page saves a new capital: the bot and its flow in one transaction."""
    with db.writing() as session:
        row = session.get(Bot, bot.id)
        before, row.capital = row.capital, D(capital)
        session.add(row)
        flow = capital_flows.capital_changed(session=session, bot=row, before=before, actor="t")
    return flow


def test_capital_added_today_does_not_hide_a_real_loss(db):
    bot = make_bot(db)
    _losing_today(db, bot, "100")
    flow = change_capital(db, bot, "15000")
    assert (flow.kind, flow.amount) == ("changed", D("5000"))
    with db.reading() as session:
        row = session.get(Bot, bot.id)
        assert measures.bot_daily_pnl(session=session, bot=row, at=AT) == D("-100")
        assert measures.desk_daily_pnl(session=session, at=AT) == D("-100")
    limit(db, "daily_loss_limit", "100", bot)
    reason = refused(order(db, bot), "daily_loss_limit")
    assert "is down 100.00 USDT today (UTC)" in reason


def test_capital_taken_out_today_is_no_loss(db):
    bot = make_bot(db)
    with db.writing() as session:
        session.add(
            EquitySnapshot(bot_id=bot.id, at=AT - timedelta(minutes=1), equity=D("10000"), cash=0)
        )
    change_capital(db, bot, "6000")
    with db.reading() as session:
        assert measures.bot_daily_pnl(session=session, bot=session.get(Bot, bot.id), at=AT) == 0
        assert measures.desk_daily_pnl(session=session, at=AT) == 0
    limit(db, "daily_loss_limit", "100", bot)
    limit(db, "daily_loss_limit", "100")
    allowed(order(db, bot))


def test_capital_added_to_another_bot_does_not_hide_the_desks_loss(db):
    loser, other = make_bot(db), make_bot(db)
    _losing_today(db, loser, "300")
    with db.writing() as session:
        session.add(
            EquitySnapshot(bot_id=other.id, at=AT - timedelta(minutes=1), equity=D("10000"), cash=0)
        )
    change_capital(db, other, "11000")
    limit(db, "daily_loss_limit", "300")
    assert "the desk is down 300.00 USDT today" in refused(order(db, other), "daily_loss_limit")


def test_a_bot_created_today_is_no_profit_for_the_desk(db):
    loser = make_bot(db)
    _losing_today(db, loser, "300")
    with db.writing() as session:
        new = Bot(name="rf-new", strategy="ema_cross", symbol="BTCUSDT", capital=D("3500"))
        session.add(new)
        session.flush()
        capital_flows.bot_created(session=session, bot=new, actor="t")
    with db.reading() as session:
        assert measures.desk_daily_pnl(session=session, at=AT) == D("-300")


def test_drawdown_counts_no_capital_taken_out_and_no_peak_from_capital_added(db):
    bot = make_bot(db)
    with db.writing() as session:
        session.add(EquitySnapshot(bot_id=bot.id, at=AT, equity=D("10000"), cash=0))
    change_capital(db, bot, "5000")  # 5000 out: equity 5000, no drawdown
    limit(db, "max_drawdown", "10")
    allowed(order(db, bot, "1"))  # buys 1 at 100: equity unchanged but the fee
    with db.writing() as session:
        session.add(
            EquitySnapshot(bot_id=bot.id, at=AT + timedelta(minutes=1), equity=D("5000"), cash=0)
        )
    change_capital(db, bot, "8000")  # 3000 in: the peak is still 5000 + 3000, not more
    with db.reading() as session:
        row = session.get(Bot, bot.id)
        drawdown, peak, equity = measures.drawdown_percent(
            session=session, bot=row, equity=D("7200")
        )
    assert (drawdown, peak, equity) == (D("10"), D("8000"), D("7200"))
    with db.reading() as session:
        flows = session.exec(select(CapitalFlow).order_by(CapitalFlow.id)).all()
    assert [flow.amount for flow in flows] == [D("-5000"), D("3000")]


def test_a_bot_created_before_any_snapshot_is_no_loss_on_a_replays_clock(db):
    """Created on a fresh desk (no snapshot yet), then the replay's first candles (dated
    years before the wall clock): its creation is no loss today."""
    with db.writing() as session:
        bot = Bot(name="rf-first", strategy="ema_cross", symbol="BTCUSDT", capital=D("3500"))
        session.add(bot)
        session.flush()
        flow = capital_flows.bot_created(session=session, bot=bot, actor="t")
    assert flow.at == capital_flows.CLOCK_START  # before every snapshot to come
    with db.writing() as session:
        for minutes in (-1, 1):
            at = AT + timedelta(minutes=minutes)
            session.add(EquitySnapshot(bot_id=bot.id, at=at, equity=D("3500"), cash=0))
    with db.reading() as session:
        row = session.get(Bot, bot.id)
        assert measures.bot_daily_pnl(session=session, bot=row, at=AT) == 0
        assert measures.desk_daily_pnl(session=session, at=AT) == 0
        assert measures.drawdown_percent(session=session, bot=row, equity=D("3500"))[0] == 0
