"""The engine's announcements: one call at each point where the engine decides something
people must hear of (a fill, a rejected or expired order, a signal, a breach, a bot's
error, a difference with the exchange). Each writes its event into the notification
outbox in the caller's transaction; the builders in `db.notification_events` do the work,
the watchdog delivers. Risk refusals are not announced here: the watchdog aggregates the
risk events the order path already writes."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import object_session
from sqlmodel import Session

from botdesk.db import notification_events, notifications
from botdesk.db.models import Bot, Fill, Order, OrderStatus, RiskEvent, Signal

UNFILLED_ENDS = (OrderStatus.REJECTED, OrderStatus.EXPIRED)
_HELD = "botdesk.held_signal_events"  # in session.info while a candle batch runs


@contextmanager
def signals_together(session: Session) -> Iterator[None]:
    """The signal events announced inside (created, executed, rejected: each as it was
    when announced) are written in one insert at the end, in the order announced (a
    candle batch's, in its transaction; nothing is written if it fails)."""
    held = session.info[_HELD] = []
    try:
        yield
        notifications.emit_many(session, held)
    finally:
        session.info.pop(_HELD, None)


def _signal_events(session: Session, events: list) -> None:
    held = session.info.get(_HELD)
    if held is None:
        notifications.emit_many(session, events)
    else:
        held.extend(events)


def order_filled(session: Session, order: Order, fill: Fill) -> None:
    bot = session.get(Bot, order.bot_id)
    notifications.emit(session, notification_events.order_filled(order=order, fill=fill, bot=bot))


def order_closed(order: Order) -> None:
    """After an order's status was set: announces a rejection or an expiry (its session
    is the one the order belongs to)."""
    session = object_session(order)
    if session is None or order.status not in UNFILLED_ENDS or order.id is None:
        return
    bot = session.get(Bot, order.bot_id)
    notifications.emit(session, notification_events.order_closed_unfilled(order=order, bot=bot))


def signal_changed(session: Session, signal: Signal) -> None:
    """A signal created (status new), executed (accepted) or rejected, for webhooks."""
    bot = session.get(Bot, signal.bot_id)
    if bot is not None and signal.id is not None:
        _signal_events(session, [notification_events.signal_event(signal=signal, bot=bot)])


def signals_created(session: Session, signals: list[Signal]) -> None:
    """signal.created for signals stored earlier in the transaction (the batched candle
    path's ignored signals), all in one insert; flushes first, for their ids."""
    if not signals:
        return
    session.flush()
    events = []
    for signal in signals:
        bot = session.get(Bot, signal.bot_id)
        if bot is not None:
            events.append(notification_events.signal_event(signal=signal, bot=bot, created=True))
    _signal_events(session, events)


def risk_event(session: Session, event: RiskEvent) -> None:
    """A breach or the circuit breaker (other kinds announce nothing here)."""
    bot = session.get(Bot, event.bot_id) if event.bot_id is not None else None
    if event.at is None:
        session.flush()
    announced = notification_events.risk_event(event=event, bot=bot)
    if announced is not None:
        notifications.emit(session, announced)


def bot_error(session: Session, bot: Bot, error: str) -> None:
    notifications.emit(session, notification_events.bot_error(bot=bot, error=error))


def reconcile_difference(session: Session, event: RiskEvent) -> None:
    if event.at is None:
        session.flush()
    notifications.emit(
        session,
        notification_events.reconcile_difference(
            bot_id=event.bot_id, message=event.message, at=event.at
        ),
    )
