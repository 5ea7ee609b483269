"""What Binance should hold for a position, decided inside the caller's transaction (no
network here): the `protection` row and its legs (`order` rows) to place, the ones to
cancel, and a protection's status read from its legs. `botdesk.engine.brokers.
binance_protection` sends what is decided here.

A position with a stop-loss and a take-profit gets an OCO (a LIMIT_MAKER sell at the
take-profit and a STOP_LOSS_LIMIT sell at the stop); with one of them, a STOP_LOSS_LIMIT
or a TAKE_PROFIT_LIMIT alone. Its quantity is the position's. A change of the position's
quantity, stop or take-profit replaces the protection (cancel, then place anew); a
replacement is placed only once the exchange confirmed the cancel of the one before.
"""

from decimal import Decimal

from sqlmodel import Session, col, select

from botdesk.db import protections
from botdesk.db.models import (
    OPEN_ORDER_STATUSES,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    Protection,
    ProtectionStatus,
    Side,
)
from botdesk.db.types import quantize, utcnow
from botdesk.engine import announce
from botdesk.engine.risk import watch

HUNDRED = Decimal(100)


def list_client_order_id(bot_id: int, position_id: int, number: int) -> str:
    """The n-th protection of a position; its legs add "s" (stop) and "t" (take-profit)."""
    return f"bd-{bot_id}-p{position_id}-x{number}"


def exit_pending(session: Session, position: Position) -> bool:
    """An exit of the position (not a protection leg) is on its way: nothing is placed
    meanwhile; its outcome decides (`ensure` runs again when it is final)."""
    return (
        session.exec(
            select(Order.id).where(
                Order.bot_id == position.bot_id,
                Order.symbol == position.symbol,
                Order.side == Side.SELL,
                col(Order.protection_id).is_(None),
                col(Order.status).in_(OPEN_ORDER_STATUSES),
            )
        ).first()
        is not None
    )


def ensure(
    session: Session, position: Position, *, broker: str, stop_limit_percent: Decimal
) -> Protection | None:
    """Make what is recorded for the exchange match the position: keep a protection
    that matches, cancel the others, record a new one if none matches. Idempotent."""
    live = protections.live(session=session, position_id=position.id)
    wanted = (position.quantity, position.stop_price, position.take_profit)
    if (
        position.status != PositionStatus.OPEN
        or position.quantity <= 0
        or (position.stop_price is None and position.take_profit is None)
        or exit_pending(session, position)
    ):
        for row in live:
            request_cancel(session, row, "the position needs no protection now")
        return None
    keep = next(
        (
            row
            for row in reversed(live)
            if not row.cancel_requested
            and (row.quantity, row.stop_price, row.take_profit) == wanted
        ),
        None,
    )
    for row in live:
        if row is not keep:
            request_cancel(session, row, "replaced: the position's levels or quantity moved")
    if keep is not None:
        return keep
    newest = session.exec(
        select(Protection)
        .where(Protection.position_id == position.id)
        .order_by(col(Protection.id).desc())
    ).first()
    if (
        newest is not None
        and newest.status == ProtectionStatus.REJECTED
        and (newest.quantity, newest.stop_price, newest.take_profit) == wanted
    ):
        return None  # refused as it is: the engine's own watch protects the position
    return _record_new(session, position, broker, stop_limit_percent, live)


def _record_new(session, position, broker, stop_limit_percent, live) -> Protection:
    number = protections.count(session=session, position_id=position.id) + 1
    list_id = list_client_order_id(position.bot_id, position.id, number)
    stop_limit = None
    if position.stop_price is not None:
        stop_limit = quantize(position.stop_price * (1 - stop_limit_percent / HUNDRED))
    row = Protection(
        position_id=position.id,
        bot_id=position.bot_id,
        symbol=position.symbol,
        list_client_order_id=list_id,
        quantity=position.quantity,
        stop_price=position.stop_price,
        stop_limit_price=stop_limit,
        take_profit=position.take_profit,
        status=ProtectionStatus.NEW,
        status_reason="waiting to be placed on Binance"
        + (" once the one it replaces is cancelled" if live else ""),
        replaces_id=live[-1].id if live else None,
        updated_at=utcnow(),
    )
    session.add(row)
    session.flush()
    both = position.stop_price is not None and position.take_profit is not None
    if position.stop_price is not None:
        session.add(
            _leg(
                row,
                f"{list_id}s",
                OrderType.STOP,
                "trailing_stop" if watch.trails(position) else "stop_loss",
                price=stop_limit,
                stop_price=position.stop_price,
                broker=broker,
            )
        )
    if position.take_profit is not None:
        session.add(
            _leg(
                row,
                f"{list_id}t",
                OrderType.LIMIT,
                "take_profit",
                price=position.take_profit,
                # alone, a TAKE_PROFIT_LIMIT triggered at the take-profit; in an OCO, a
                # LIMIT_MAKER resting at it
                stop_price=None if both else position.take_profit,
                broker=broker,
            )
        )
    session.flush()
    return row


def _leg(row, client_id, order_type, purpose, *, price, stop_price, broker) -> Order:
    return Order(
        bot_id=row.bot_id,
        client_order_id=client_id,
        broker=broker,
        symbol=row.symbol,
        side=Side.SELL,
        type=order_type,
        quantity=row.quantity,
        price=price,
        stop_price=stop_price,
        purpose=purpose,
        status=OrderStatus.NEW,
        status_reason="protection: waiting to be placed on Binance",
        protection_id=row.id,
        updated_at=utcnow(),
    )


def request_cancel(session: Session, row: Protection, reason: str) -> None:
    """Cancel a protection: at once if it never left, else ask the exchange (dispatch)."""
    if row.status == ProtectionStatus.NEW:
        close(session, row, ProtectionStatus.CANCELLED, f"cancelled before it was placed: {reason}")
        return
    if not row.cancel_requested:
        row.cancel_requested = True
        row.status_reason = f"cancel requested ({reason}): waiting for Binance to confirm"
        row.updated_at = utcnow()
        session.add(row)


def release(session: Session, position: Position, reason: str) -> int:
    """Cancel everything held for the position (before an exit); returns how many."""
    live = [
        row
        for row in protections.live(session=session, position_id=position.id)
        if not row.cancel_requested
    ]
    for row in live:
        request_cancel(session, row, reason)
    return len(live)


def close(session: Session, row: Protection, status: str, reason: str) -> None:
    """A protection done with, and its legs that are not already final."""
    row.status, row.status_reason, row.updated_at = status, reason, utcnow()
    session.add(row)
    leg_status = {
        ProtectionStatus.CANCELLED: OrderStatus.CANCELLED,
        ProtectionStatus.REJECTED: OrderStatus.REJECTED,
        ProtectionStatus.EXPIRED: OrderStatus.EXPIRED,
    }.get(status)
    for leg in protections.legs(session=session, protection_id=row.id):
        if leg_status is not None and leg.status in OPEN_ORDER_STATUSES:
            leg.status, leg.status_reason, leg.updated_at = leg_status, reason, utcnow()
            session.add(leg)
            announce.order_closed(leg)


def derive(session: Session, row: Protection) -> None:
    """The protection's status from its legs as Binance reported them."""
    legs = protections.legs(session=session, protection_id=row.id)
    statuses = {leg.status for leg in legs}
    if any(leg.filled_quantity > 0 for leg in legs):
        status, reason = (
            ProtectionStatus.FILLED,
            "filled on Binance: "
            + ", ".join(
                f"{leg.purpose} {leg.filled_quantity} at {leg.average_price}"
                for leg in legs
                if leg.filled_quantity > 0
            ),
        )
    elif statuses & {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}:
        status, reason = ProtectionStatus.OPEN, "held by Binance"
    elif statuses & {OrderStatus.NEW, OrderStatus.UNKNOWN}:
        return  # not all known yet
    elif statuses == {OrderStatus.CANCELLED}:
        status, reason = ProtectionStatus.CANCELLED, "cancelled on Binance"
    elif OrderStatus.EXPIRED in statuses:
        status, reason = ProtectionStatus.EXPIRED, "expired on Binance"
    else:
        status, reason = ProtectionStatus.REJECTED, "refused by Binance"
    if row.status == status:
        return
    if status == ProtectionStatus.OPEN and row.cancel_requested:
        reason = row.status_reason or reason
    row.status, row.status_reason, row.updated_at = status, reason, utcnow()
    session.add(row)
