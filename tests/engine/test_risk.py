"""Every risk limit refuses the entry that breaks it, with its rule and a stated reason on
record, and allows the one that does not; exits pass whatever the limits; sizing follows
risk per trade and the stop distance. Real database, the real order path."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db import candles as candle_store
from botdesk.db import risk_limits
from botdesk.db.models import Bot, EquitySnapshot, Position, RiskEvent
from botdesk.engine.brokers.base import MarketContext
from botdesk.engine.orders import OrderRefused, OrderRequest, submit
from botdesk.engine.sizing import NO_STOP_DISTANCE, risk_quantity, size_entry
from tests.engine.driving import runtime_for
from tests.engine.test_ledger import AT
from tests.factories import make_bot, make_position

D = Decimal
PRICE = D("100")
MARKET = MarketContext(symbol="BTCUSDT", at=AT, last_price=PRICE)
_ids = iter(range(1, 10_000))


def limit(db, kind: str, value: str, bot: Bot | None = None) -> None:
    with db.writing() as session:
        risk_limits.set_limit(
            session=session, kind=kind, value=value, bot_id=bot.id if bot else None, by="test"
        )


def order(db, bot, quantity="1", side="buy", market=MARKET, **fields):
    """Submit through the order path as the engine does (an immediate market order, priced
    at the market's last price unless `reference_price` says otherwise); returns the order,
    or the OrderRefused, the refusal kept on record as the engine's callers keep it."""
    reference_price = fields.pop("reference_price", market.last_price or PRICE)
    runtime = runtime_for(db)
    with db.writing() as session:
        request = OrderRequest(
            bot=session.get(Bot, bot.id),
            side=side,
            quantity=D(quantity),
            purpose="entry" if side == "buy" else "exit",
            client_order_id=f"t-{next(_ids)}",
            reference_price=reference_price,
            immediate=True,
            **fields,
        )
        try:
            return submit(session, request, broker=runtime.brokers.get("paper"), market=market)
        except OrderRefused as refusal:
            return refusal


def refused(result, rule: str) -> str:
    assert isinstance(result, OrderRefused), f"expected a refusal by {rule}, got {result}"
    assert result.rule == rule, result.reason
    return result.reason


def allowed(result):
    assert not isinstance(result, OrderRefused), result.reason
    assert result.status == "filled"
    return result


def test_max_position_notional(db):
    bot = make_bot(db)
    limit(db, "max_position_notional", "1000")
    reason = refused(order(db, bot, "10.01"), "max_position_notional")
    assert "worth 1001.00 USDT, above the max position of 1000" in reason
    allowed(order(db, bot, "6"))
    refused(order(db, bot, "4.01"), "max_position_notional")  # counts what is held
    allowed(order(db, bot, "4"))
    with db.reading() as session:
        event = session.exec(select(RiskEvent)).first()
    assert (event.kind, event.rule, event.message) == ("refused", "max_position_notional", reason)


def test_max_total_exposure_of_a_bot_and_of_the_desk(db):
    bot, other = make_bot(db), make_bot(db, symbol="ETHUSDT")
    make_position(db, other, quantity=D("10"), cost_basis=D("1000"), last_price=D("150"))
    limit(db, "max_total_exposure", "500", bot)
    refused(order(db, bot, "5.01"), "max_total_exposure")
    allowed(order(db, bot, "5"))
    limit(db, "max_total_exposure", "2100")  # the desk: 1500 (other) + 500 held already
    reason = refused(order(db, make_bot(db), "1.01"), "max_total_exposure")
    assert "the desk's exposure would reach 2101.00 USDT" in reason
    allowed(order(db, make_bot(db), "1"))


def test_max_open_positions_per_bot_and_for_the_desk(db):
    bot = make_bot(db)
    make_position(db, bot, symbol="ETHUSDT", quantity=D("1"), cost_basis=D("100"))
    limit(db, "max_open_positions", "1", bot)
    assert "the bot already holds 1 open position(s)" in refused(
        order(db, bot), "max_open_positions"
    )
    limit(db, "max_open_positions", "2", bot)
    allowed(order(db, bot))
    allowed(order(db, bot))  # adding to its position opens no new one
    limit(db, "max_open_positions", "2")  # the desk now holds 2
    refused(order(db, make_bot(db)), "max_open_positions")
    limit(db, "max_open_positions", "3")
    allowed(order(db, make_bot(db)))


def _losing_today(db, bot, loss: str) -> None:
    """The bot began the day at 10000 and now holds a position down `loss`."""
    with db.writing() as session:
        session.add(
            EquitySnapshot(bot_id=bot.id, at=AT - timedelta(minutes=1), equity=D("10000"), cash=0)
        )
    make_position(db, bot, quantity=D("10"), cost_basis=D("1000"), last_price=(1000 - D(loss)) / 10)


def test_daily_loss_limit_of_a_bot(db):
    bot = make_bot(db)
    _losing_today(db, bot, "100")
    limit(db, "daily_loss_limit", "100", bot)
    reason = refused(order(db, bot), "daily_loss_limit")
    assert "is down 100.00 USDT today (UTC), at or beyond its daily loss limit of 100" in reason
    limit(db, "daily_loss_limit", "100.01", bot)
    allowed(order(db, bot))


def test_daily_loss_limit_of_the_desk(db):
    loser, bot = make_bot(db), make_bot(db)
    _losing_today(db, loser, "300")
    with db.writing() as session:  # its latest snapshot says so
        session.add(EquitySnapshot(bot_id=loser.id, at=AT, equity=D("9700"), cash=0))
    limit(db, "daily_loss_limit", "300")
    assert "the desk is down 300.00 USDT today" in refused(order(db, bot), "daily_loss_limit")
    limit(db, "daily_loss_limit", "301")
    allowed(order(db, bot))


def test_max_drawdown_from_the_peak(db):
    bot = make_bot(db)
    with db.writing() as session:
        session.add(EquitySnapshot(bot_id=bot.id, at=AT, equity=D("11000"), cash=0))
    make_position(db, bot, quantity=D("10"), cost_basis=D("1000"), last_price=D("90"))
    # equity now: 9000 cash + 900 = 9900, 10% below the peak of 11000
    limit(db, "max_drawdown", "10")
    assert "is 10.00% below its peak of 11000.00" in refused(order(db, bot), "max_drawdown")
    limit(db, "max_drawdown", "10.01")
    allowed(order(db, bot))


def test_cooldown_between_entries_in_market_time(db):
    bot = make_bot(db)
    limit(db, "cooldown_seconds", "60")
    allowed(order(db, bot))  # no entry before: nothing to wait for
    later = MarketContext(symbol="BTCUSDT", at=AT + timedelta(seconds=59), last_price=PRICE)
    assert "filled 59 s ago" in refused(order(db, bot, market=later), "cooldown_seconds")
    later = MarketContext(symbol="BTCUSDT", at=AT + timedelta(seconds=60), last_price=PRICE)
    allowed(order(db, bot, market=later))


def test_max_orders_per_minute(db):
    bot = make_bot(db)
    limit(db, "max_orders_per_minute", "2")
    allowed(order(db, bot))
    allowed(order(db, bot))
    assert "2 entries in the last minute" in refused(order(db, bot), "max_orders_per_minute")
    allowed(order(db, make_bot(db)))  # per bot


def test_stale_data_guard(db):
    bot = make_bot(db)
    newest = int(AT.timestamp() * 1000)
    with db.writing() as session:
        candle_store.upsert(
            session=session,
            candles=[
                dict(
                    symbol="BTCUSDT", timeframe="1m", open_time_ms=newest - m * 60_000,
                    open=PRICE, high=PRICE, low=PRICE, close=PRICE, volume=D(1),
                )
                for m in range(3)
            ],
        )  # fmt: skip
    limit(db, "stale_data_intervals", "2")
    reason = refused(order(db, bot, candle_open_ms=newest - 120_000), "stale_data_intervals")
    assert "(2 intervals) older than the newest BTCUSDT 1m candle" in reason
    allowed(order(db, bot, candle_open_ms=newest - 60_000))


def test_a_paused_or_halted_bot_opens_nothing(db):
    paused = make_bot(db, state="paused")
    assert "is paused: no entry" in refused(order(db, paused), "bot_state")
    halted = make_bot(db)
    with db.writing() as session:
        session.get(Bot, halted.id).status = "halted"
    assert "is halted: no entry" in refused(order(db, halted), "bot_state")


def test_exits_pass_whatever_the_limits(db):
    bot = make_bot(db)
    allowed(order(db, bot, "10"))
    for kind, value in (
        ("max_position_notional", "1"),
        ("max_total_exposure", "1"),
        ("max_open_positions", "0"),
        ("daily_loss_limit", "1"),
        ("max_drawdown", "0.01"),
        ("max_orders_per_minute", "1"),
        ("cooldown_seconds", "3600"),
    ):
        limit(db, kind, value)
        limit(db, kind, value, bot)
    with db.writing() as session:
        row = session.get(Bot, bot.id)
        row.desired_state = row.status = "paused"
    refused(order(db, bot, "1"), "bot_state")
    allowed(order(db, bot, "10", side="sell"))
    with db.reading() as session:
        assert session.exec(select(Position)).one().status == "closed"


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        (D("98"), D("50")),  # 100 at risk over a 2 USDT stop distance
        (D("95"), D("20")),
        (None, D("100") / (PRICE * NO_STOP_DISTANCE)),  # no stop: an assumed 5% distance
        (D("101"), D("20")),  # a "stop" above the entry is no stop
    ],
)
def test_risk_per_trade_sizes_from_the_stop_distance(stop, expected):
    quantity = risk_quantity(capital=D("10000"), risk_percent=D("1"), price=PRICE, stop=stop)
    assert quantity == expected


def test_sizing_is_capped_by_the_max_position_and_the_cash(db):
    bot = make_bot(db)
    limit(db, "risk_per_trade", "1")

    def size(cash="10000", held="0", stop="98"):
        with db.reading() as session:
            return size_entry(
                session=session,
                bot=session.get(Bot, bot.id),
                price=PRICE,
                stop=D(stop),
                cash=D(cash),
                position_quantity=D(held),
                fee_rate=D("0.001"),
                slippage_bps=D(0),
            )

    assert size() == D("50")  # 1% of 10000 over a 2 USDT stop distance
    assert D("49") < size(cash="5000") < D("50")  # the cash (fee, a buffer kept) caps it
    limit(db, "max_position_notional", "3000")
    assert size() == D("30")
    assert size(held="25") == D("5")
    assert size(held="31") == D("0")
