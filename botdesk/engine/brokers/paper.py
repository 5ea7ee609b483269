"""The paper broker: simulated fills per `botdesk.engine.fill_rules`, in the database only.

Resting orders are matched when a candle of the bot's timeframe closes: first a
good-till-time order whose time has passed before the candle opened expires, then market
orders fill at its open, then stop orders, then limit orders (so a stop is assumed to
fill before a limit touched in the same candle). A buy needs the bot's cash at the
moment it fills, as an exchange would refuse it otherwise.

A stop or limit order is matched against the candle it is placed on only when it stands
for a position's protection the engine watched inside that candle (`TOUCHED_WHEN_PLACED`);
any other order (a strategy's limit entry, an operator's limit) was placed after that
candle closed, so it rests for the next one.
"""

from collections.abc import Sequence
from decimal import Decimal

from sqlmodel import Session

from botdesk.db.models import Bot, Order, OrderStatus, OrderType, Side
from botdesk.db.types import quantize, utcnow
from botdesk.engine import announce, fill_rules
from botdesk.engine.accounts import account
from botdesk.engine.brokers.base import (
    Broker,
    BrokerFill,
    MarketContext,
    datetime_to_ms,
    ms_to_datetime,
    quote_asset,
)
from botdesk.engine.ledger import open_position

_MATCH_ORDER = {OrderType.MARKET: 0, OrderType.STOP: 1, OrderType.LIMIT: 2}
# the position watch's exits: the candle being processed touched their level
TOUCHED_WHEN_PLACED = frozenset({"stop_loss", "take_profit", "trailing_stop"})


class PaperBroker(Broker):
    name = "paper"
    replays_missed_candles = True
    quiet_without_orders = True

    def place(
        self, session: Session, order: Order, market: MarketContext, *, immediate: bool = False
    ) -> list[BrokerFill]:
        order.sent_at = utcnow()
        order.exchange_order_id = f"paper-{order.id}"
        order.status = OrderStatus.OPEN
        session.add(order)
        if order.type == OrderType.MARKET and immediate:
            if market.last_price is None:
                return self._close(session, order, OrderStatus.REJECTED, "no price known yet")
            price = fill_rules.immediate_fill_price(
                market.last_price, order.side, self.slippage_bps
            )
            return self._fill(session, order, price, market.at)
        if (
            order.type != OrderType.MARKET
            and market.candle is not None
            and order.purpose in TOUCHED_WHEN_PLACED
        ):
            price = self._triggered_price(order, market)
            if price is not None:
                return self._fill(session, order, price, market.at)
        return []

    def cancel(self, session: Session, orders: Sequence[Order]) -> None:
        now = utcnow()
        for order in orders:
            order.status = OrderStatus.CANCELLED
            order.updated_at = now
            session.add(order)

    def on_candle(self, session: Session, bot: Bot, market: MarketContext) -> list[BrokerFill]:
        candle = market.candle
        resting = [
            order
            for order in self.open_orders(session, bot.id)
            if order.symbol == market.symbol
            and (order.candle_open_ms is None or order.candle_open_ms < candle.open_time_ms)
        ]
        resting.sort(key=lambda order: (_MATCH_ORDER[order.type], order.id))
        fills = []
        for order in resting:
            if self._expire(session, order, candle):
                continue
            if order.type == OrderType.MARKET:
                price = fill_rules.market_fill_price(candle.open, order.side, self.slippage_bps)
                fills += self._fill(session, order, price, ms_to_datetime(candle.open_time_ms))
            else:
                price = self._triggered_price(order, market)
                if price is not None:
                    fills += self._fill(session, order, price, market.at)
        return fills

    def _expire(self, session, order: Order, candle) -> bool:
        expires_ms = datetime_to_ms(order.expires_at) if order.expires_at is not None else None
        if not fill_rules.expired(expires_ms, candle.open_time_ms):
            return False
        opened = ms_to_datetime(candle.open_time_ms)
        self._close(
            session,
            order,
            OrderStatus.EXPIRED,
            f"expired unfilled: good till {order.expires_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"the next candle opened at {opened:%Y-%m-%d %H:%M:%S} UTC",
        )
        return True

    def _triggered_price(self, order: Order, market: MarketContext) -> Decimal | None:
        candle = market.candle
        if order.type == OrderType.STOP:
            if fill_rules.stop_touched(
                order.side, float(order.stop_price), candle.high, candle.low
            ):
                return fill_rules.stop_fill_price(
                    order.side, order.stop_price, candle.open, self.slippage_bps
                )
        elif fill_rules.limit_touched(order.side, float(order.price), candle.high, candle.low):
            return fill_rules.limit_fill_price(order.side, order.price, candle.open)
        return None

    def _fill(self, session, order: Order, price: Decimal, at) -> list[BrokerFill]:
        quantity = order.quantity - order.filled_quantity
        if order.side == Side.BUY:
            cost = quantize(quantity * price)
            cash = account(session=session, bot=session.get(Bot, order.bot_id)).cash
            if cost + fill_rules.fee_for(cost, self.fee_rate) > cash:
                needed = cost + fill_rules.fee_for(cost, self.fee_rate)
                return self._close(
                    session,
                    order,
                    OrderStatus.REJECTED,
                    f"not enough cash when it filled: needs {needed}, the bot has {cash}",
                )
        else:
            position = open_position(session=session, bot_id=order.bot_id, symbol=order.symbol)
            if position is None:
                return self._close(
                    session, order, OrderStatus.CANCELLED, "the position was already closed"
                )
            quantity = min(quantity, position.quantity)
        fee = fill_rules.fee_for(quantize(quantity * price), self.fee_rate)
        return [
            BrokerFill(
                order_id=order.id,
                trade_id=f"paper-{order.id}",
                quantity=quantity,
                price=price,
                fee=fee,
                fee_asset=quote_asset(order.symbol),
                fee_quote=fee,
                filled_at=at,
            )
        ]

    def _close(self, session, order: Order, status: str, reason: str) -> list[BrokerFill]:
        order.status = status
        order.status_reason = reason
        order.updated_at = utcnow()
        session.add(order)
        announce.order_closed(order)
        return []
