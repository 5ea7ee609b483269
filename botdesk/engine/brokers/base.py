"""The broker interface: what the engine asks of the paper broker and of an exchange.

The engine stores every order (status "new", with a deterministic `client_order_id`)
before it hands it to a broker, and books every fill a broker reports through
`botdesk.engine.ledger.record_fill`. A broker only talks to its venue and updates the
order rows it was given (status, `exchange_order_id`, `sent_at`, `status_reason`). All
calls run inside the engine's database transaction (`session`).

- `place(session, order, market, immediate=False)`: send a new order. Return the fills
  that happened at once (a paper stop touched by the candle being processed, an
  exchange's immediate fill); mark the order "open" if it rests, or "rejected" with a
  reason. `immediate` marks an operator's "now" (manual close, flatten): the paper broker
  fills such a market order at once at `market.last_price` instead of at the next open.
  An exchange broker must send `client_order_id`, so that a retry after a crash finds the
  order instead of placing a second one.
- `cancel(session, orders)`: cancel open orders (one call for many, so the kill switch
  cancels everything in one go); mark them "cancelled". An order the venue had already
  filled stays open for `reconcile` to settle.
- `on_candle(session, bot, market)`: a candle of the bot's timeframe closed. The paper
  broker matches the bot's resting orders against it per `botdesk.engine.fill_rules`; an
  exchange broker returns the fills it has learned of since (or nothing).
- `reconcile(session, bot_ids)`: at start and periodically, bring stored open orders in
  line with the venue (fills while the engine was away, orders the venue no longer knows)
  and return the fills to book. Paper has nothing to reconcile.
- `open_orders(session, bot_id)`: the stored open orders this broker handles.
- `synchronize(db)`: what the engine's reconciliation job calls. The default runs
  `reconcile` in one transaction and books its fills; an exchange broker overrides it to
  make its network calls outside any transaction (see below).
- `dispatch()`: an engine job calls it every few hundred milliseconds, outside any
  transaction: an exchange broker sends there what `place` and `cancel` recorded.

An exchange broker must never hold a database transaction open across a network call
(SQLite has one writer: the desk and the other engine jobs would wait on Binance). So
its `place` and `cancel` only record intent in the caller's transaction, and the
sending happens in `dispatch`, each outcome recorded in a short transaction of its own
(`botdesk.engine.brokers.binance` describes the steps).
- `protect(session, position, market)`, `protection_changed(session, position, market)`,
  `release_protection(session, position)`: protection held by the venue. An exchange
  broker places the position's stop-loss and take-profit on the exchange when an entry
  fills (`protect`), cancel-replaces them when the stop, take-profit or trailing distance
  moves (`protection_changed`), and cancels them before any exit it is asked to send
  (`release_protection`: a manual or partial exit, the kill switch's flatten). The paper
  broker holds nothing at a venue: the engine's position watch is its protection, so the
  defaults do nothing.
- `replays_missed_candles`: True when the broker can act on candles that closed while the
  engine was down (paper fills at historical prices); an exchange cannot trade in the
  past, so its bots skip to the present after a restart.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from botdesk.db.assets import QUOTE_ASSETS, quote_asset  # noqa: F401  (the brokers' names)
from botdesk.db.models import OPEN_ORDER_STATUSES, Bot, Order
from botdesk.engine.ledger import BrokerFill, record_fill

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# built once (`ledger._OPEN_POSITION` says why): a broker's open orders, and one bot's
_OPEN_ORDERS = (
    select(Order)
    .where(Order.broker == bindparam("broker"), col(Order.status).in_(OPEN_ORDER_STATUSES))
    .order_by(col(Order.id))
)
_BOT_OPEN_ORDERS = _OPEN_ORDERS.where(Order.bot_id == bindparam("bot_id"))


@dataclass(frozen=True)
class CandlePrices:
    """A closed candle in exact Decimals."""

    open_time_ms: int
    close_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def exact_datetime(ms: int) -> datetime:
    """The instant `ms` to the millisecond (`ms_to_datetime` goes through a float)."""
    return EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(at: datetime) -> int:
    """Milliseconds since the epoch, in integers (no float rounding)."""
    return (at - EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class MarketContext:
    """What a broker may need to know about the market when it acts.

    at: market time (a replay's time during a replay); last_price: the latest known price
    of the symbol; candle: the closed candle being processed, when there is one.
    """

    symbol: str
    at: datetime
    last_price: Decimal | None = None
    candle: CandlePrices | None = None


class BrokerError(RuntimeError):
    """The broker could not do what was asked; the message says why."""


class Broker(ABC):
    name: ClassVar[str]
    replays_missed_candles: ClassVar[bool] = False
    # True when a candle can change nothing for a bot without open orders of this broker
    # (paper): the batched candle path then skips `on_candle` for such a bot
    quiet_without_orders: ClassVar[bool] = False
    # True when the broker expires good-till-time orders itself (paper); otherwise the
    # engine cancels them when a candle opens after their expiry (`limit_orders`)
    expires_orders: ClassVar[bool] = False

    def __init__(self, *, fee_rate: Decimal, slippage_bps: Decimal = Decimal(0)):
        self.fee_rate = Decimal(fee_rate)
        self.slippage_bps = Decimal(slippage_bps)

    @abstractmethod
    def place(
        self, session: Session, order: Order, market: MarketContext, *, immediate: bool = False
    ) -> list[BrokerFill]: ...

    @abstractmethod
    def cancel(self, session: Session, orders: Sequence[Order]) -> None: ...

    @abstractmethod
    def on_candle(self, session: Session, bot: Bot, market: MarketContext) -> list[BrokerFill]: ...

    def reconcile(self, session: Session, bot_ids: Sequence[int] | None = None) -> list[BrokerFill]:
        return []

    def bind(self, db) -> None:
        """The engine's database, for brokers that record outcomes in transactions of
        their own."""
        return None

    def synchronize(self, db) -> int:
        """Reconcile and book the fills; returns how many were booked."""
        booked = 0
        with db.writing() as session:
            for fill in self.reconcile(session):
                record_fill(session=session, order=session.get(Order, fill.order_id), fill=fill)
                booked += 1
        return booked

    def protect(self, session: Session, position, market: MarketContext) -> None:
        """Place the position's stop-loss/take-profit at the venue (exchange brokers)."""
        return None

    def protection_changed(self, session: Session, position, market: MarketContext) -> None:
        """The position's stop, take-profit or trailing distance moved: replace what the
        venue holds (exchange brokers)."""
        return None

    def release_protection(self, session: Session, position) -> None:
        """Cancel what the venue holds for the position before an exit is sent."""
        return None

    def dispatch(self) -> None:
        """Send what was recorded for sending (exchange brokers); paper has nothing."""
        return None

    def open_orders(self, session: Session, bot_id: int | None = None) -> list[Order]:
        if bot_id is None:
            return list(session.exec(_OPEN_ORDERS, params={"broker": self.name}).all())
        params = {"broker": self.name, "bot_id": bot_id}
        return list(session.exec(_BOT_OPEN_ORDERS, params=params).all())
