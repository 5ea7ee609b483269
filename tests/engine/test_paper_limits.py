"""Resting limit orders on the paper broker, through the live candle path
(`trading.process_candle`), with hand-computed expectations: touched inside a candle,
gaps through the price, untouched, good till a time, a partial exit by limit."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db.models import Bot, BotState, Fill, Order, OrderStatus, OrderType
from botdesk.engine.brokers.base import CandlePrices, MarketContext
from botdesk.engine.ledger import open_position
from botdesk.engine.orders import OrderRequest, submit
from botdesk.engine.trading import process_candle
from tests.engine.driving import runtime_for
from tests.factories import make_bot

D = Decimal
MINUTE_MS = 60_000
T0 = 1_730_000_040_000  # a minute's open, ms (2024-10-27 03:34 UTC)


def _candle(index: int, open_: str, high: str, low: str, close: str) -> CandlePrices:
    opens = T0 + index * MINUTE_MS
    return CandlePrices(opens, opens + MINUTE_MS - 1, D(open_), D(high), D(low), D(close))


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class Desk:
    """One paper bot, fee 0.1 %, no slippage; orders are placed after candle 0 closed."""

    def __init__(self, db):
        self.db = db
        self.runtime = runtime_for(db, fee_rate="0.001")
        self.broker = self.runtime.brokers.get("paper")
        self.bot = make_bot(db, state=BotState.RUNNING, capital=D("10000"))

    def limit(self, cid: str, side: str, quantity: str, price: str, **extra) -> Order:
        with self.db.writing() as session:
            request = OrderRequest(
                bot=session.get(Bot, self.bot.id),
                side=side,
                quantity=D(quantity),
                purpose="entry" if side == "buy" else "exit",
                client_order_id=cid,
                type=OrderType.LIMIT,
                price=D(price),
                candle_open_ms=T0,  # decided on the close of candle 0
                **extra,
            )
            market = MarketContext(symbol="BTCUSDT", at=_at(T0 + MINUTE_MS), last_price=D(price))
            return submit(session, request, broker=self.broker, market=market)

    def candle(self, candle: CandlePrices) -> None:
        with self.db.writing() as session:
            process_candle(
                session,
                bot=session.get(Bot, self.bot.id),
                candle=candle,
                timeframe="1m",
                signal=None,
                broker=self.broker,
            )

    def order(self, order: Order) -> Order:
        with self.db.reading() as session:
            return session.get(Order, order.id)

    def fills(self, order: Order) -> list[Fill]:
        with self.db.reading() as session:
            return list(session.exec(select(Fill).where(Fill.order_id == order.id)).all())

    def position(self):
        with self.db.reading() as session:
            return open_position(session=session, bot_id=self.bot.id, symbol="BTCUSDT")


def test_a_buy_limit_touched_inside_a_candle_fills_at_the_limit(db):
    desk = Desk(db)
    order = desk.limit("bd-l-1", "buy", "0.1", "100")
    desk.candle(_candle(0, "104", "105", "98", "101"))  # the candle it was decided on
    assert desk.order(order).status == OrderStatus.OPEN
    desk.candle(_candle(1, "105", "106", "99.5", "101"))  # low 99.5 <= 100
    (fill,) = desk.fills(order)
    assert (fill.price, fill.quantity, fill.fee) == (D("100"), D("0.1"), D("0.01"))
    assert desk.order(order).status == OrderStatus.FILLED
    assert desk.position().cost_basis == D("10")


def test_a_gap_down_through_a_buy_limit_fills_at_the_open(db):
    desk = Desk(db)
    order = desk.limit("bd-l-2", "buy", "0.1", "100")
    desk.candle(_candle(1, "95", "97", "94", "96"))
    (fill,) = desk.fills(order)
    assert (fill.price, fill.fee) == (D("95"), D("0.0095"))


def test_a_sell_limit_gap_up_fills_at_the_open_and_a_partial_exit_is_exact(db):
    desk = Desk(db)
    entry = desk.limit("bd-l-3", "buy", "0.3", "100")
    desk.candle(_candle(1, "101", "101", "99", "100"))  # buys 0.3 at 100: cost 30
    assert desk.fills(entry)[0].price == D("100")
    exit_ = desk.limit("bd-l-4", "sell", "0.1", "110")  # a third of the position
    desk.candle(_candle(2, "112", "113", "111", "112"))  # opens above 110
    (fill,) = desk.fills(exit_)
    # 0.1 x 112 = 11.2; cost removed 30 x 0.1 / 0.3 = 10; fee 0.0112
    assert (fill.price, fill.fee) == (D("112"), D("0.0112"))
    assert fill.realized_pnl == D("11.2") - D("10") - D("0.0112")
    position = desk.position()
    assert (position.quantity, position.cost_basis) == (D("0.2"), D("20"))
    assert position.entry_price == D("100")
    # realized: the entry's fee (0.03) and the partial exit's result
    assert position.realized_pnl == D("-0.03") + D("1.1888")


def test_an_untouched_limit_rests(db):
    desk = Desk(db)
    order = desk.limit("bd-l-5", "buy", "0.1", "100")
    for index in range(1, 4):
        desk.candle(_candle(index, "101", "103", "100.01", "102"))
    assert desk.order(order).status == OrderStatus.OPEN
    assert desk.fills(order) == []


def test_a_good_till_time_order_expires_before_a_touching_candle(db):
    desk = Desk(db)
    good_till = _at(T0 + 2 * MINUTE_MS - 1)  # the close of candle 1
    order = desk.limit("bd-l-6", "buy", "0.1", "100", time_in_force="gtd", expires_at=good_till)
    desk.candle(_candle(1, "101", "102", "100.5", "101"))  # opens before expiry, no touch
    assert desk.order(order).status == OrderStatus.OPEN
    desk.candle(_candle(2, "101", "101", "90", "95"))  # opens after expiry and trades through
    expired = desk.order(order)
    assert expired.status == OrderStatus.EXPIRED
    assert "expired unfilled" in expired.status_reason
    assert desk.fills(order) == [] and desk.position() is None


def test_a_candle_opening_at_the_expiry_time_can_still_fill(db):
    desk = Desk(db)
    good_till = _at(T0 + MINUTE_MS)  # exactly the open of candle 1
    order = desk.limit("bd-l-7", "buy", "0.1", "100", time_in_force="gtd", expires_at=good_till)
    desk.candle(_candle(1, "101", "102", "99", "100"))
    assert desk.order(order).status == OrderStatus.FILLED
    assert desk.fills(order)[0].price == D("100")


def test_time_in_force_is_checked_before_an_order_exists(db):
    desk = Desk(db)
    with pytest.raises(ValueError, match="needs expires_at"):
        desk.limit("bd-l-8", "buy", "0.1", "100", time_in_force="gtd")
    with pytest.raises(ValueError, match="not one of gtc, gtd"):
        desk.limit("bd-l-9", "buy", "0.1", "100", time_in_force="ioc")
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(ValueError, match="only it"):
        desk.limit("bd-l-10", "buy", "0.1", "100", expires_at=in_an_hour)
    with db.reading() as session:
        assert session.exec(select(Order)).all() == []
