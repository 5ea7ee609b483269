"""Limit orders the engine places and keeps: the terms a strategy's signal asks for, the
resting sells a protective exit replaces, and good-till-time orders at a venue that
cannot expire them itself (Binance spot knows only GTC for a limit).

The paper broker matches and expires its own resting orders (`brokers.paper`); the
fill rules are in `botdesk.engine.fill_rules`.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from botdesk.db.models import OPEN_ORDER_STATUSES, Bot, Order, Side, TimeInForce
from botdesk.engine import fill_rules
from botdesk.engine.brokers.base import Broker, CandlePrices, datetime_to_ms, exact_datetime
from botdesk.engine.frames import to_decimal
from botdesk.engine.orders import PROTECTIVE_PURPOSES
from botdesk.engine.timeframes import timeframe_ms


@dataclass(frozen=True)
class LimitTerms:
    """A limit order's price and time in force (expires_at for gtd)."""

    price: Decimal
    time_in_force: str = TimeInForce.GTC
    expires_at: datetime | None = None


def terms_for(limit: float, good_for: int, candle: CandlePrices, timeframe: str) -> LimitTerms:
    """A signal's limit on `candle`, good for `good_for` candles after it (0: until
    cancelled), that is till the close of the last of them."""
    if not good_for:
        return LimitTerms(to_decimal(limit))
    last_close_ms = candle.open_time_ms + (good_for + 1) * timeframe_ms(timeframe) - 1
    return LimitTerms(to_decimal(limit), TimeInForce.GTD, exact_datetime(last_close_ms))


def open_orders(session: Session, bot: Bot) -> list[Order]:
    """The bot's open orders, but not the legs of a protection the exchange holds (the
    order path releases those itself before any exit)."""
    query = select(Order).where(
        Order.bot_id == bot.id,
        Order.symbol == bot.symbol,
        col(Order.status).in_(OPEN_ORDER_STATUSES),
        col(Order.protection_id).is_(None),
    )
    return list(session.exec(query).all())


def cancel_resting_sells(session: Session, bot: Bot, broker: Broker, reason: str) -> None:
    """A resting exit (a limit sell for all or part of the position) gives way to the
    stop-loss or take-profit that sells the whole position."""
    resting = [
        order
        for order in open_orders(session, bot)
        if order.side == Side.SELL and order.purpose not in PROTECTIVE_PURPOSES
    ]
    for order in resting:
        order.status_reason = reason
    if resting:
        broker.cancel(session, resting)


def cancel_expired(session: Session, bot: Bot, broker: Broker, candle: CandlePrices) -> None:
    """For a broker that does not expire orders itself: cancel the bot's good-till-time
    orders once a candle opens after their `expires_at` (the paper broker's rule)."""
    if broker.expires_orders:
        return
    expired = [
        order
        for order in open_orders(session, bot)
        if order.expires_at is not None
        and fill_rules.expired(datetime_to_ms(order.expires_at), candle.open_time_ms)
    ]
    for order in expired:
        order.status_reason = f"expired: good till {order.expires_at:%Y-%m-%d %H:%M:%S} UTC"
    if expired:
        broker.cancel(session, expired)
