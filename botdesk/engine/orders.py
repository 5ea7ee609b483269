"""THE ORDER PATH: every order the engine sends goes through `submit`: entries, exits,
stop-losses, take-profits, manual closes, the kill switch's flatten, webhook signals.

Immediately before an order reaches a broker, inside the caller's transaction, `submit`:
1. returns the existing order if its `client_order_id` is already stored (ids are
   deterministic, so a command re-run after a crash never sends an order twice; the
   unique column is the second guard);
2. re-reads the kill-switch flag with `engine_state.lock` (on PostgreSQL the row lock
   serializes it against an engage) and refuses while the switch is engaged, except the
   kill switch's own flatten orders; refuses while the dead man's switch holds (this
   engine has not written its heartbeat for `DEADMAN_SECONDS`);
3. calls the risk hook, `botdesk.engine.risk.check_risk`;
4. stores the order; a sell first releases the position's protection held by the
   exchange (`Broker.release_protection`: only now, once the exit is allowed, so a
   refused exit never leaves a position unprotected); hands it to the broker and books
   any immediate fill; a rejected order feeds the bot's circuit breaker.
A refusal (2 or 3) is stored as a `risk_event` row, the signal (if any) is marked
"rejected" with the reason, and `OrderRefused` is raised. The caller must keep its
transaction (commit), so the refusal stays on record.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from botdesk.db import engine_state
from botdesk.db.models import (
    OPEN_ORDER_STATUSES,
    Bot,
    Order,
    OrderStatus,
    OrderType,
    Position,
    RiskEvent,
    Side,
    Signal,
    SignalStatus,
    TimeInForce,
)
from botdesk.engine import announce, risk
from botdesk.engine.accounts import Account, account
from botdesk.engine.brokers.base import Broker, MarketContext
from botdesk.engine.ledger import open_position, record_fill
from botdesk.engine.risk import breaches, deadman

ZERO = Decimal(0)


def signal_order_id(bot_id: int, signal_id: int) -> str:
    """The order acting on a signal: one per (bot, signal)."""
    return f"bd-{bot_id}-s{signal_id}"


PROTECTIVE_SUFFIXES = {"stop_loss": "sl", "take_profit": "tp", "trailing_stop": "ts"}


def protective_order_id(bot_id: int, position_id: int, reason: str) -> str:
    """A position's stop-loss, trailing-stop or take-profit exit: one per position and kind."""
    return f"bd-{bot_id}-p{position_id}-{PROTECTIVE_SUFFIXES[reason]}"


def command_order_id(bot_id: int, command_id: int, position_id: int | None = None) -> str:
    """A manual close (one per command) or a flatten (one per command and position)."""
    suffix = f"-p{position_id}" if position_id is not None else ""
    return f"bd-{bot_id}-c{command_id}{suffix}"


class OrderRefused(Exception):
    """The kill switch or the risk hook refused the order; it was not sent."""

    def __init__(self, rule: str, reason: str):
        self.rule = rule
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class OrderRequest:
    bot: Bot
    side: str
    quantity: Decimal
    purpose: str
    client_order_id: str
    type: str = OrderType.MARKET
    price: Decimal | None = None  # limit price
    stop_price: Decimal | None = None
    reference_price: Decimal | None = None  # where it should fill, for the risk check
    signal: Signal | None = None
    immediate: bool = False  # the operator's "now": paper fills at the latest price
    flatten: bool = False  # the kill switch's own flatten order, allowed while engaged
    candle_open_ms: int | None = None  # the candle on whose close it was decided
    time_in_force: str = TimeInForce.GTC
    expires_at: datetime | None = None  # gtd only: it expires at the first candle after it

    def __post_init__(self):
        if self.time_in_force not in tuple(TimeInForce):
            raise ValueError(
                f"time in force {self.time_in_force!r} is not one of " + ", ".join(TimeInForce)
            )
        if (self.time_in_force == TimeInForce.GTD) != (self.expires_at is not None):
            raise ValueError("a good-till-time (gtd) order needs expires_at, and only it")
        if self.type == OrderType.LIMIT and (self.price is None or self.price <= 0):
            raise ValueError("a limit order needs a limit price above 0")


@dataclass(frozen=True)
class Held:
    """The bot's open position in the order's symbol and its account, as the caller read
    them in this transaction with nothing written to either since: `submit` checks the
    order against them instead of reading them a second time."""

    position: Position | None
    book: Account
    # all the bot's open positions, every symbol (None: not at hand, the check reads them)
    everything: list[Position] | None = None


_BY_CLIENT_ID = select(Order).where(Order.client_order_id == bindparam("client_order_id"))


def submit(
    session: Session,
    request: OrderRequest,
    *,
    broker: Broker,
    market: MarketContext,
    held: Held | None = None,
) -> Order:
    """Send one order through the kill switch and the risk hook to the broker."""
    existing = session.exec(
        _BY_CLIENT_ID, params={"client_order_id": request.client_order_id}
    ).first()
    if existing is not None:
        return existing
    bot = request.bot
    state = engine_state.lock(session=session)
    if state.kill_switch_engaged and not request.flatten:
        _refuse(
            session,
            request,
            "kill_switch",
            f"kill switch engaged by {state.kill_switch_by}: {state.kill_switch_reason}",
        )
    stale = deadman.blocked_reason()
    if stale is not None:
        _refuse(session, request, "dead_mans_switch", stale)
    if held is None:
        held = Held(
            open_position(session=session, bot_id=bot.id, symbol=bot.symbol),
            account(session=session, bot=bot),
        )
    position, book = held.position, held.book
    selling = _pending_sells(session, bot) if request.side == Side.SELL else ZERO
    decision = risk.check_risk(
        risk.RiskContext(
            session=session,
            bot=bot,
            symbol=bot.symbol,
            side=request.side,
            order_type=request.type,
            purpose=request.purpose,
            quantity=request.quantity,
            price=request.reference_price or request.price or request.stop_price,
            cash=book.cash,
            position_quantity=position.quantity if position is not None else ZERO,
            pending_sell_quantity=selling,
            fee_rate=broker.fee_rate,
            signal=request.signal,
            market_at=market.at,
            candle_open_ms=request.candle_open_ms,
            equity=book.equity,
            open_positions=held.everything,
        )
    )
    if not decision.allowed:
        _refuse(session, request, decision.rule or "risk", decision.reason or "refused")
    order = Order(
        bot_id=bot.id,
        signal_id=request.signal.id if request.signal is not None else None,
        client_order_id=request.client_order_id,
        broker=broker.name,
        symbol=bot.symbol,
        side=request.side,
        type=request.type,
        quantity=request.quantity,
        price=request.price,
        stop_price=request.stop_price,
        purpose=request.purpose,
        candle_open_ms=request.candle_open_ms,
        time_in_force=request.time_in_force,
        expires_at=request.expires_at,
    )
    session.add(order)
    session.flush()
    if request.side == Side.SELL and position is not None:
        # an exchange must not hold the position's stop and take-profit while this exit
        # sells the same coins
        broker.release_protection(session, position)
    for fill in broker.place(session, order, market, immediate=request.immediate):
        record_fill(session=session, order=order, fill=fill)
    announce.order_closed(order)
    if order.status == OrderStatus.REJECTED:
        breaches.trip_circuit_breaker(session, bot, broker)
    if request.signal is not None:
        request.signal.status = SignalStatus.ACCEPTED
        request.signal.status_reason = f"order {order.client_order_id}"
        session.add(request.signal)
        announce.signal_changed(session, request.signal)
    return order


PROTECTIVE_PURPOSES = tuple(PROTECTIVE_SUFFIXES)


def _pending_sells(session: Session, bot: Bot) -> Decimal:
    """What the bot's open sells already sell. Stop-loss, trailing-stop and take-profit
    orders are not counted (a venue's protection legs among them): an exit releases or
    replaces them before it is sent."""
    ordered, filled = session.exec(
        select(func.sum(Order.quantity), func.sum(Order.filled_quantity)).where(
            Order.bot_id == bot.id,
            Order.symbol == bot.symbol,
            Order.side == Side.SELL,
            col(Order.status).in_(OPEN_ORDER_STATUSES),
            col(Order.purpose).not_in(PROTECTIVE_PURPOSES),
        )
    ).one()
    return (ordered or ZERO) - (filled or ZERO)


def _refuse(session: Session, request: OrderRequest, rule: str, reason: str):
    session.add(
        RiskEvent(
            bot_id=request.bot.id,
            kind="refused",
            rule=rule,
            severity="warning",
            message=reason,
            signal_id=request.signal.id if request.signal is not None else None,
            details=json.dumps(
                {
                    "client_order_id": request.client_order_id,
                    "side": request.side,
                    "quantity": str(request.quantity),
                    "purpose": request.purpose,
                }
            ),
        )
    )
    if request.signal is not None:
        request.signal.status = SignalStatus.REJECTED
        request.signal.status_reason = reason
        session.add(request.signal)
    session.flush()
    if request.signal is not None:
        announce.signal_changed(session, request.signal)
    raise OrderRefused(rule, reason)
