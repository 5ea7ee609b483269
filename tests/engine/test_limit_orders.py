"""Good-till-time orders at a venue that cannot expire them (Binance spot sends a limit as
GTC): the engine cancels them at the first candle that opens after their expiry, through
the real Binance broker against the fake Binance."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from botdesk.db.models import Bot, OrderStatus, OrderType
from botdesk.engine.brokers.base import CandlePrices
from botdesk.engine.trading import process_candle
from tests.engine.test_binance_broker import fake, order, setup, stored  # noqa: F401

pytestmark = pytest.mark.integration
MINUTE_MS = 60_000
T0 = 1_730_000_040_000


def _candle(index: int, price: Decimal) -> CandlePrices:
    opens = T0 + index * MINUTE_MS
    return CandlePrices(opens, opens + MINUTE_MS - 1, price, price, price, price)


def _process(db, broker, bot, candle) -> None:
    with db.writing() as session:
        process_candle(
            session, bot=session.get(Bot, bot.id), candle=candle, timeframe="1m", signal=None,
            broker=broker,
        )  # fmt: skip


def test_a_good_till_time_limit_at_binance_is_cancelled_once_a_candle_opens_after_it(
    db,
    fake,  # noqa: F811 (the fixture imported above)
    setup,  # noqa: F811
):
    _, broker, bot = setup
    price = fake.exchange.price("BTCUSDT")
    limit = (price * Decimal("0.9")).quantize(Decimal("0.01"))
    good_till = datetime.fromtimestamp((T0 + 2 * MINUTE_MS - 1) / 1000, UTC)
    order_id = order(
        db, broker, bot, type=OrderType.LIMIT, price=limit, time_in_force="gtd",
        expires_at=good_till,
    )  # fmt: skip
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.OPEN
    (sent,) = fake.orders_with_client_id("bd-t-1")
    _process(db, broker, bot, _candle(1, price))  # opens before the expiry: it stays
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.OPEN and sent.status == "NEW"
    _process(db, broker, bot, _candle(2, price))  # opens after it: cancelled at Binance
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.CANCELLED
    assert sent.status == "CANCELED"
