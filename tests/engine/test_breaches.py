"""Breaches, the circuit breaker and the position watch, candle by candle through the
engine's own `process_candle` on a real database: a daily-loss breach pauses the bot (all
bots for the global limit) and the pause lifts at 00:00 UTC; a drawdown breach waits for a
trader; a paused bot still manages its position and opens nothing; N rejections halt a
bot; trailing stops and breakeven move the stop up and exit through the order path."""

import math
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import col, select

import botdesk.engine.handlers  # noqa: F401  (registers the command handlers)
from botdesk.db import candles as candle_store
from botdesk.db import commands as command_queue
from botdesk.db.models import Bot, Command, EquitySnapshot, Order, Position, RiskEvent, Signal
from botdesk.engine import commands
from botdesk.engine.brokers.base import CandlePrices, MarketContext
from botdesk.engine.frames import BUY, SELL
from botdesk.engine.trading import StrategySignal, process_candle
from tests.engine.driving import runtime_for
from tests.engine.test_risk import limit, order, refused
from tests.factories import make_bot, make_position

D = Decimal
DAY = datetime(2024, 10, 29, tzinfo=UTC)
DAY_MS = int(DAY.timestamp() * 1000)
HOUR = 60
NEXT_DAY = 24 * HOUR


def candle(minute: int, open_, high, low, close) -> CandlePrices:
    start = DAY_MS + minute * 60_000
    return CandlePrices(start, start + 60_000, D(open_), D(high), D(low), D(close))


def signal(side: int) -> StrategySignal:
    return StrategySignal(side, 1.0, math.nan, math.nan, "test")


def step(db, bot: Bot, prices: CandlePrices, side: int | None = None) -> None:
    runtime = runtime_for(db)
    with db.writing() as session:
        process_candle(
            session,
            bot=session.get(Bot, bot.id),
            candle=prices,
            timeframe="1m",
            signal=signal(side) if side is not None else None,
            broker=runtime.brokers.get("paper"),
        )


def state(db, bot: Bot) -> tuple[str, str, str | None]:
    with db.reading() as session:
        row = session.get(Bot, bot.id)
        return row.desired_state, row.status, row.status_reason


def events(db, kind: str) -> list[RiskEvent]:
    with db.reading() as session:
        query = select(RiskEvent).where(RiskEvent.kind == kind).order_by(col(RiskEvent.id))
        return list(session.exec(query).all())


def position_of(db, bot: Bot) -> Position:
    with db.reading() as session:
        query = select(Position).where(Position.bot_id == bot.id).order_by(col(Position.id))
        return session.exec(query).all()[-1]


def running_bot(db, **fields) -> Bot:
    return make_bot(db, state="running", **fields)


def test_a_daily_loss_pauses_the_bot_which_still_manages_its_position_and_resumes_next_day(db):
    bot = running_bot(db)
    make_position(
        db, bot, quantity=D("10"), cost_basis=D("1000"), entry_price=D("100"), stop_price=D("80")
    )
    limit(db, "daily_loss_limit", "100", bot)
    step(db, bot, candle(600, 95, 95, 90, 91))  # down 90: nothing happens
    assert state(db, bot)[:2] == ("running", "running")
    step(db, bot, candle(601, 91, 91, 88, 89), side=BUY)  # down 110: paused; the buy ignored
    desired, status, reason = state(db, bot)
    assert (desired, status) == ("paused", "paused")
    assert reason.startswith("paused by the daily loss limit for 2024-10-29: ")
    [breach] = events(db, "breach")
    assert (breach.bot_id, breach.rule, breach.severity) == (bot.id, "daily_loss_limit", "critical")
    assert "lost 110.00 USDT on 2024-10-29 (UTC), limit 100" in breach.message

    step(db, bot, candle(602, 89, 90, 87, 88), side=BUY)  # paused: a buy opens nothing
    with db.reading() as session:
        statuses = session.exec(select(Signal.status, Signal.status_reason)).all()
        assert session.exec(select(Order)).all() == []
    assert [s for s, _ in statuses] == ["ignored", "ignored"]
    assert "paused" in statuses[-1][1]
    step(db, bot, candle(603, 88, 88, 79, 80))  # but its stop-loss still exits
    closed = position_of(db, bot)
    assert (closed.status, closed.exit_reason) == ("closed", "stop_loss")

    step(db, bot, candle(NEXT_DAY - 2, 80, 80, 80, 80))  # closes 23:59: still paused
    assert state(db, bot)[1] == "paused"
    step(db, bot, candle(NEXT_DAY - 1, 80, 80, 80, 80))  # closes 00:00 UTC: it resets
    assert state(db, bot) == ("running", "running", None)
    [resumed] = events(db, "resume")
    assert "daily loss limit of 2024-10-29 reset at 00:00 UTC 2024-10-30" in resumed.message


def test_the_global_daily_loss_limit_pauses_every_bot(db):
    loser, bystander = running_bot(db), running_bot(db, symbol="ETHUSDT")
    stopped = make_bot(db)
    make_position(db, loser, quantity=D("10"), cost_basis=D("1000"), entry_price=D("100"))
    limit(db, "daily_loss_limit", "50")
    step(db, bystander, candle(600, 10, 10, 10, 10))  # the bystander is flat
    step(db, loser, candle(600, 94, 94, 94, 94))  # the desk is down 60
    assert state(db, loser)[1] == state(db, bystander)[1] == "paused"
    assert state(db, stopped)[1] == "stopped"  # only running bots pause
    [breach] = events(db, "breach")
    assert breach.bot_id is None and "the desk lost 60.00 USDT" in breach.message


def test_a_drawdown_pause_waits_for_a_trader(db):
    bot = running_bot(db)
    with db.writing() as session:
        session.add(EquitySnapshot(bot_id=bot.id, at=DAY, equity=D("10500"), cash=0))
    make_position(db, bot, quantity=D("10"), cost_basis=D("1000"), entry_price=D("100"))
    limit(db, "max_drawdown", "5", bot)
    step(db, bot, candle(600, 50, 50, 50, 50))  # equity 9500: 9.52% below 10500
    assert state(db, bot)[2].startswith("paused by the max drawdown: ")
    [breach] = events(db, "breach")
    assert "9.52% below its peak of 10500.00" in breach.message
    step(db, bot, candle(NEXT_DAY, 50, 50, 50, 50))
    assert state(db, bot)[1] == "paused"  # no new day resumes it

    runtime = runtime_for(db)
    with db.writing() as session:
        start = command_queue.issue(
            session=session, kind="bot.start", issued_by="trader", target=f"bot:{bot.id}"
        )
    commands.consume(runtime)
    with db.reading() as session:
        assert session.get(Command, start.id).status == "done"
    step(db, bot, candle(NEXT_DAY + 1, 50, 50, 50, 50))
    assert state(db, bot)[:2] == ("running", "running")  # the peak starts afresh
    step(db, bot, candle(NEXT_DAY + 2, 47, 47, 47, 47))  # 9470: 0.32% below 9500
    assert state(db, bot)[1] == "running"
    step(db, bot, candle(NEXT_DAY + 3, 2, 2, 2, 2))  # 9020: 5.05% below 9500
    assert state(db, bot)[1] == "paused" and len(events(db, "breach")) == 2


def _rejected_buy(db, bot: Bot):
    """A buy the paper broker rejects: it has no price to fill an immediate order at."""
    market = MarketContext(symbol=bot.symbol, at=DAY, last_price=None)
    return order(db, bot, market=market, reference_price=D("100"))


def test_the_circuit_breaker_halts_a_bot_after_n_consecutive_rejections(db):
    bot, other = running_bot(db), running_bot(db)
    limit(db, "circuit_breaker_errors", "3")
    limit(db, "circuit_breaker_window_seconds", "300")
    with db.writing() as session:  # a resting order the halt must cancel
        session.add(
            Order(
                bot_id=bot.id, client_order_id="resting", symbol=bot.symbol, side="buy",
                quantity=D("1"), status="open", type="limit", price=D("1"),
            )
        )  # fmt: skip
    for _ in range(2):
        assert _rejected_buy(db, bot).status == "rejected"
    assert state(db, bot)[1] == "running"  # two are not three
    step(db, other, candle(600, 100, 100, 100, 100), side=BUY)  # another bot's order
    _rejected_buy(db, bot)
    desired, status, reason = state(db, bot)
    assert (desired, status) == ("stopped", "halted")
    assert reason.startswith("halted by the circuit breaker: ")
    assert (
        "3 consecutive orders rejected or never placed within 300 s (last: no price known yet)"
        in reason
    )
    [event] = events(db, "circuit_breaker")
    assert event.bot_id == bot.id and event.severity == "critical"
    with db.reading() as session:
        assert session.exec(
            select(Order.status).where(Order.client_order_id == "resting")
        ).one() == ("cancelled")
    assert state(db, other)[1] == "running"
    refused(_rejected_buy(db, bot), "bot_state")  # a halted bot sends no entry


def test_orders_an_exchange_never_placed_count_as_broker_failures(db):
    """An exchange order that timeouts and 5xx answers kept from being placed within its
    send window ends expired; two of those and a rejection trip a breaker of three."""
    bot = running_bot(db)
    limit(db, "circuit_breaker_errors", "3")
    limit(db, "circuit_breaker_window_seconds", "300")
    with db.writing() as session:
        for number in range(2):
            session.add(
                Order(
                    bot_id=bot.id, client_order_id=f"expired-{number}", symbol=bot.symbol,
                    side="buy", quantity=D("1"), status="expired",
                    status_reason="not placed within the send window: 503 from the exchange",
                )
            )  # fmt: skip
    assert state(db, bot)[1] == "running"
    _rejected_buy(db, bot)
    assert state(db, bot)[1] == "halted"
    [event] = events(db, "circuit_breaker")
    assert "3 consecutive orders rejected or never placed" in event.message


def test_a_rejection_between_successes_does_not_trip_the_breaker(db):
    bot = running_bot(db)
    limit(db, "circuit_breaker_errors", "2")
    limit(db, "circuit_breaker_window_seconds", "300")
    _rejected_buy(db, bot)
    step(db, bot, candle(600, 100, 100, 100, 100), side=BUY)  # an order that rests
    _rejected_buy(db, bot)
    assert state(db, bot)[1] == "running"


def _enter(db, bot: Bot) -> None:
    """A buy on candle 0's close fills at candle 1's open (100)."""
    step(db, bot, candle(600, 100, 100, 100, 100), side=BUY)


def test_a_percent_trailing_stop_follows_the_high_and_exits_through_the_order_path(db):
    bot = running_bot(db)
    limit(db, "trailing_stop_percent", "10", bot)
    _enter(db, bot)
    step(db, bot, candle(601, 100, 110, 100, 108))
    assert position_of(db, bot).stop_price == D("99")  # 10% below the high of 110
    step(db, bot, candle(602, 108, 120, 105, 115))
    assert position_of(db, bot).stop_price == D("108")
    step(db, bot, candle(603, 115, 116, 109, 110))  # the stop never moves down
    assert position_of(db, bot).stop_price == D("108")
    step(db, bot, candle(604, 110, 111, 100, 101))
    closed = position_of(db, bot)
    assert (closed.status, closed.exit_reason) == ("closed", "trailing_stop")
    with db.reading() as session:
        exit_order = session.exec(select(Order).where(Order.purpose == "trailing_stop")).one()
    assert (exit_order.type, exit_order.stop_price, exit_order.average_price) == (
        "stop",
        D("108"),
        D("108"),
    )


def test_an_atr_trailing_stop(db):
    bot = running_bot(db)
    with db.writing() as session:  # 1m candles with a true range of 2: ATR(14) = 2
        candle_store.upsert(
            session=session,
            candles=[
                dict(
                    symbol="BTCUSDT", timeframe="1m", open_time_ms=DAY_MS + m * 60_000,
                    open=D(100), high=D(101), low=D(99), close=D(100), volume=D(1),
                )
                for m in range(570, 602)
            ],
        )  # fmt: skip
    limit(db, "trailing_stop_atr", "3", bot)
    _enter(db, bot)
    step(db, bot, candle(601, 100, 101, 99, 100))
    assert position_of(db, bot).stop_price == D("95")  # 101 - 3 x 2


def test_the_stop_moves_to_breakeven_after_the_configured_gain(db):
    bot = running_bot(db)
    limit(db, "breakeven_after_percent", "5", bot)
    _enter(db, bot)
    step(db, bot, candle(601, 100, 104, 99, 103))
    assert position_of(db, bot).stop_price is None
    step(db, bot, candle(602, 103, 106, 102, 104))  # 5% up: the stop goes to the entry
    assert position_of(db, bot).stop_price == D("100")
    step(db, bot, candle(603, 104, 104, 99, 99), side=SELL)
    closed = position_of(db, bot)
    assert (closed.status, closed.exit_reason) == ("closed", "stop_loss")
