"""The Binance spot broker (testnet for accounts marked testnet, live otherwise).

No network call ever happens inside a database transaction (an SQLite writer would block
the desk and the other engine jobs for as long as Binance takes). The order path is:

1. `place`, inside the order path's transaction, only records the intent: the order row
   stays "new" with its deterministic `client_order_id`, committed with the signal.
2. `dispatch` (an engine job, outside any transaction) claims each "new" order in a short
   transaction: kill switch re-checked, symbol filters applied (a clear refusal, or the
   quantity rounded to LOT_SIZE), status "unknown" committed *before* the request leaves.
3. The request goes out; its outcome is recorded in a new short transaction: "open",
   fills booked, "rejected" with Binance's reason (-2010 raises a risk event), or, after
   a timeout, a dropped connection or a 5xx, it stays "unknown".
4. An "unknown" order is looked up by `origClientOrderId` before anything else is done
   with it: found, its state and trades are recorded; not found, it goes back to "new"
   (sent again while younger than BINANCE_SEND_WINDOW_SECONDS, else "expired"). So an
   order is never sent twice, whatever failed and whenever the engine died.

Cancels work the same way: `cancel` marks the order "cancel requested" in the caller's
transaction (an order never sent is simply cancelled) and `dispatch` sends the cancel.
A 418 (IP banned) halts every Binance bot and raises a critical risk event.

Fills: a buy's commission taken in the base asset is booked as that much less quantity
received (what the account holds) and its quote value as the fee, so the ledger's
holdings match the account's. What is left of a position after its exit filled and that
is below the LOT_SIZE step (unsellable dust) is written off at price 0 by a "dust" order
that never leaves botdesk; the dust stays in the Binance account.

Protection held by the exchange: when an entry fills, the position's stop-loss and
take-profit are placed on Binance (an OCO, or one order), recorded in the same way
(`botdesk.engine.brokers.binance_intent` decides in the caller's transaction,
`botdesk.engine.brokers.binance_protection` sends in `dispatch`). An exit of a position
waits until Binance confirmed the cancel of its protection; a sell that leaves part of
the position, or that failed, has the rest protected again.

Reconciliation (`synchronize`, at start and every BOTDESK_RECONCILE_SECONDS) is in
`botdesk.engine.brokers.binance_reconcile`.
"""

import logging
import threading
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from binance.client import Client
from sqlmodel import Session, col, select

from botdesk.db import candles as candle_store
from botdesk.db import engine_state
from botdesk.db.models import (
    Bot,
    ExchangeAccount,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Protection,
    Side,
)
from botdesk.db.types import utcnow
from botdesk.engine import announce
from botdesk.engine.brokers import binance_intent as intent
from botdesk.engine.brokers.base import Broker, MarketContext
from botdesk.engine.brokers.binance_booking import (
    Booking,
    close_order,
    exchange_event,
    has_position,
    locked_order,
)
from botdesk.engine.brokers.binance_connections import BinanceConnections
from botdesk.engine.brokers.binance_filters import FilterRefused, SymbolFilters
from botdesk.engine.brokers.binance_protection import Protector
from botdesk.engine.brokers.binance_reconcile import Reconciler
from botdesk.engine.brokers.binance_rest import (
    Banned,
    ExchangeError,
    ExchangeRefused,
    OutcomeUnknown,
    RateLimited,
)
from botdesk.engine.brokers.binance_wire import CANCEL_REQUESTED, binance_trade, plain
from botdesk.engine.ledger import BrokerFill

log = logging.getLogger(__name__)

ORDER_NOT_FOUND = -2013
UNKNOWN_ORDER_SENT = -2011


class BinanceBroker(Booking, Broker):
    name = "binance"
    replays_missed_candles = False

    def __init__(self, settings, *, client_factory=Client):
        super().__init__(fee_rate=settings.FEE_RATE, slippage_bps=Decimal(0))
        self.settings = settings
        self.db = None  # bound by `Brokers`
        self.send_window = timedelta(seconds=settings.BINANCE_SEND_WINDOW_SECONDS)
        self.connections = BinanceConnections(
            settings, client_factory=client_factory, on_ban=self.halt
        )
        self._work = threading.RLock()  # dispatch and reconciliation never overlap
        self._halted_until = 0.0
        self.reconciler = Reconciler(self)
        self.protector = Protector(self)
        self.stop_limit_percent = Decimal(settings.BINANCE_STOP_LIMIT_PERCENT)

    def bind(self, db) -> None:
        self.db = db

    # --- inside the order path's transaction: record only --------------------------------

    def place(
        self, session: Session, order: Order, market: MarketContext, *, immediate: bool = False
    ) -> list[BrokerFill]:
        bot = session.get(Bot, order.bot_id)
        if bot is None or bot.exchange_account_id is None:
            order.status = OrderStatus.REJECTED
            order.status_reason = (
                "the bot has no exchange account: an admin points it at one on the "
                "Exchange accounts page"
            )
            announce.order_closed(order)
        else:
            order.status_reason = "waiting to be sent to Binance"
        order.updated_at = utcnow()
        session.add(order)
        return []

    def cancel(self, session: Session, orders: Sequence[Order]) -> None:
        now = utcnow()
        for order in orders:
            if order.protection_id is not None:  # a leg: the whole protection goes
                row = session.get(Protection, order.protection_id)
                if row is not None:
                    intent.request_cancel(session, row, "its order was cancelled")
                continue
            if order.status == OrderStatus.NEW:
                order.status = OrderStatus.CANCELLED
                order.status_reason = "cancelled before it was sent to Binance"
            elif not (order.status_reason or "").startswith(CANCEL_REQUESTED):
                order.status_reason = f"{CANCEL_REQUESTED}: waiting for Binance to confirm"
            order.updated_at = now
            session.add(order)

    def on_candle(self, session: Session, bot: Bot, market: MarketContext) -> list[BrokerFill]:
        return []  # fills are booked as Binance reports them, by dispatch and reconciliation

    def protect(self, session: Session, position, market: MarketContext) -> None:
        self.ensure_protection(session, position)

    def protection_changed(self, session: Session, position, market: MarketContext) -> None:
        self.ensure_protection(session, position)

    def release_protection(self, session: Session, position) -> None:
        intent.release(session, position, "an exit of the position is on its way")

    def ensure_protection(self, session: Session, position: Position) -> None:
        """Record what Binance should hold for the position (`binance_intent.ensure`)."""
        bot = session.get(Bot, position.bot_id)
        if bot is None or bot.broker != self.name or bot.exchange_account_id is None:
            return
        intent.ensure(
            session, position, broker=self.name, stop_limit_percent=self.stop_limit_percent
        )

    # --- outside any transaction --------------------------------------------------------

    def dispatch(self) -> None:
        """Send what is waiting: protections first (an exit waits for their cancel), then
        look up unknown orders, send new ones, send cancels; then the protections those
        fills asked for."""
        if self.db is None:
            return
        with self._work:
            if self._protections() and self._orders():
                self._protections()

    def _protections(self) -> bool:
        """One pass over the protections; False when a rate limit says stop for now."""
        for protection_id, status, cancel in self.protector.pending():
            try:
                self.protector.step(protection_id, status, cancel)
            except RateLimited as wait:
                log.warning("Binance: %s; the rest waits for the next pass", wait)
                return False
            except ExchangeError as error:
                log.warning(
                    "Binance: protection %s: %s; retried on the next pass", protection_id, error
                )
        return True

    def _orders(self) -> bool:
        """One pass over the orders (not protection legs); False on a rate limit."""
        with self.db.reading() as session:
            waiting = session.exec(
                select(Order.id, Order.status, Order.status_reason)
                .where(
                    Order.broker == self.name,
                    col(Order.protection_id).is_(None),  # legs: the protector's
                    col(Order.status).in_(
                        (
                            OrderStatus.NEW,
                            OrderStatus.UNKNOWN,
                            OrderStatus.OPEN,
                            OrderStatus.PARTIALLY_FILLED,
                        )
                    ),
                )
                .order_by(col(Order.id))
            ).all()
        for order_id, status, reason in waiting:
            try:
                if status == OrderStatus.UNKNOWN:
                    self.look_up(order_id)
                elif status == OrderStatus.NEW:
                    self.send(order_id)
                elif (reason or "").startswith(CANCEL_REQUESTED):
                    self.send_cancel(order_id)
            except RateLimited as wait:
                log.warning("Binance: %s; the rest waits for the next pass", wait)
                return False
            except ExchangeError as error:
                log.warning("Binance: order %s: %s; retried on the next pass", order_id, error)
        return True

    def synchronize(self, db) -> int:
        self.bind(db)
        with self._work:
            return self.reconciler.run()

    # --- one order ----------------------------------------------------------------------

    def send(self, order_id: int) -> None:
        rest, account, order = self._context(order_id)
        if order is None or order.status != OrderStatus.NEW:
            return
        if order.side == Side.SELL and self._protection_in_the_way(order):
            return  # sent once Binance confirmed the cancel of the position's protection
        rest.gate.check()
        filters = self.connections.filters(rest, account, order.symbol)
        claimed = self._claim(order_id, filters)
        if claimed is None:
            return
        params = {
            "symbol": claimed.symbol,
            "side": claimed.side.upper(),
            "quantity": plain(claimed.quantity),
            "newClientOrderId": claimed.client_order_id,
            "newOrderRespType": "FULL",
        }
        if claimed.type == OrderType.LIMIT:
            params.update(type="LIMIT", timeInForce="GTC", price=plain(claimed.price))
        else:  # a stop the engine saw touched is sent at market
            params["type"] = "MARKET"
        try:
            answer = rest.call("create_order", **params)
        except Banned as ban:  # `halt` has run already (BinanceRest.on_ban)
            self._set(order_id, OrderStatus.NEW, f"not sent: {ban}")
            raise
        except RateLimited as wait:
            self._set(order_id, OrderStatus.NEW, f"not sent yet: {wait}")
            raise
        except ExchangeRefused as refusal:
            self._reject(order_id, refusal)
            return
        except OutcomeUnknown as unknown:
            self._set(
                order_id,
                OrderStatus.UNKNOWN,
                f"{unknown}; looked up by client order id before any resend",
            )
            log.warning("Binance: order %s: %s", claimed.client_order_id, unknown)
            return
        answered_at = answer.get("transactTime") or answer.get("updateTime") or 0
        trades = [binance_trade(fill, time_ms=answered_at) for fill in answer.get("fills", [])]
        self.record(order_id, answer, trades, filters)

    def look_up(self, order_id: int) -> None:
        """An order whose outcome is unknown: ask Binance by client order id."""
        rest, account, order = self._context(order_id)
        if order is None:
            return
        try:
            found = rest.call(
                "get_order", symbol=order.symbol, origClientOrderId=order.client_order_id
            )
        except ExchangeRefused as refusal:
            if refusal.code != ORDER_NOT_FOUND:
                raise
            self._not_found(order_id)
            return
        self.settle(rest, account, order, found)

    def send_cancel(self, order_id: int) -> None:
        rest, account, order = self._context(order_id)
        if order is None or order.status not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            return
        try:
            answer = rest.call(
                "cancel_order", symbol=order.symbol, origClientOrderId=order.client_order_id
            )
        except ExchangeRefused as refusal:
            if refusal.code not in (UNKNOWN_ORDER_SENT, ORDER_NOT_FOUND):
                raise
            answer = rest.call(
                "get_order", symbol=order.symbol, origClientOrderId=order.client_order_id
            )
        self.settle(rest, account, order, answer)

    # --- small transactions -------------------------------------------------------------

    def _claim(self, order_id: int, filters: SymbolFilters) -> Order | None:
        """Re-check, apply the filters and mark the order "unknown" before it leaves."""
        with self.db.writing() as session:
            order = locked_order(session, order_id)
            if order.status != OrderStatus.NEW:
                return None
            state = engine_state.lock(session=session)
            closed = order.side == Side.SELL and not has_position(session, order)
            if closed:
                close_order(
                    order,
                    OrderStatus.CANCELLED,
                    "not sent: the position was closed already (its protection on Binance filled)",
                )
            elif state.kill_switch_engaged and order.purpose != "flatten":
                close_order(order, OrderStatus.CANCELLED, "kill switch engaged before it was sent")
            elif utcnow() - order.created_at > self.send_window:
                close_order(
                    order,
                    OrderStatus.EXPIRED,
                    f"not sent within {self.send_window.total_seconds():g} s of its decision "
                    "(engine down or Binance unreachable); not sent late",
                )
            else:
                market = order.type != OrderType.LIMIT
                reference = candle_store.last_price(session=session, symbol=order.symbol)
                try:
                    quantity, price = filters.apply(
                        market=market,
                        quantity=order.quantity,
                        price=None if market else order.price,
                        reference_price=reference or order.price or order.stop_price,
                    )
                except FilterRefused as refusal:
                    close_order(order, OrderStatus.REJECTED, f"not sent: {refusal}")
                    session.add(exchange_event(order, "exchange_filter", "warning", str(refusal)))
                else:
                    order.quantity, order.status = quantity, OrderStatus.UNKNOWN
                    if not market:
                        order.price = price
                    order.sent_at = utcnow()
                    order.status_reason = "sent to Binance, waiting for its answer"
            order.updated_at = utcnow()
            session.add(order)
            return order if order.status == OrderStatus.UNKNOWN else None

    # --- accounts, clients, filters -----------------------------------------------------

    def _context(self, order_id: int):
        with self.db.reading() as session:
            order = session.get(Order, order_id)
            bot = session.get(Bot, order.bot_id) if order is not None else None
            account = (
                session.get(ExchangeAccount, bot.exchange_account_id)
                if bot is not None and bot.exchange_account_id is not None
                else None
            )
        if account is None:
            if order is not None and order.status == OrderStatus.NEW:
                self._set(order_id, OrderStatus.REJECTED, "the bot has no exchange account")
            return None, None, None
        return self.connections.rest_for(account), account, order
