"""What the command handlers share: reading a command's target, the market right now."""

from datetime import UTC, datetime

from sqlmodel import Session, SQLModel, col, select

from botdesk.db import candles as candle_store
from botdesk.db.models import OPEN_ORDER_STATUSES, Bot, Order
from botdesk.db.types import utcnow
from botdesk.engine.brokers.base import MarketContext, ms_to_datetime
from botdesk.engine.commands import CommandContext, CommandFailed
from botdesk.engine.timeframes import MINUTE_MS


def target_id(context: CommandContext, kind: str) -> int:
    """The id in a target such as "bot:3"; CommandFailed when it is not one."""
    target = context.command.target or ""
    prefix, _, number = target.partition(":")
    if prefix != kind or not number.isdigit():
        raise CommandFailed(f"target must be {kind}:<id>, got {target!r}")
    return int(number)


def locked(session: Session, model: type[SQLModel], row_id: int, what: str):
    """The row, locked for this transaction (PostgreSQL), or CommandFailed if missing."""
    row = session.exec(select(model).where(model.id == row_id).with_for_update()).first()
    if row is None:
        raise CommandFailed(f"there is no {what} {row_id}")
    return row


def existing(session: Session, model: type[SQLModel], row_id: int, what: str):
    """The row, or CommandFailed naming what is missing."""
    row = session.get(model, row_id)
    if row is None:
        raise CommandFailed(f"there is no {what} {row_id}")
    return row


def cancel_open_orders(context: CommandContext, *where) -> int:
    """Cancel the open orders matching `where` (all of them without), each through its
    broker, one call per broker; returns how many. The legs of a position's protection
    held by the exchange are not among them: they go when an exit is sent
    (`Broker.release_protection`), so a stopped bot or a halt keeps its stops."""
    query = select(Order).where(
        col(Order.status).in_(OPEN_ORDER_STATUSES), col(Order.protection_id).is_(None), *where
    )
    orders = list(context.session.exec(query).all())
    by_broker: dict[str, list[Order]] = {}
    for order in orders:
        by_broker.setdefault(order.broker, []).append(order)
    for name, group in by_broker.items():
        context.runtime.brokers.get(name).cancel(context.session, group)
    return len(orders)


def locked_bot(context: CommandContext) -> Bot:
    return locked(context.session, Bot, target_id(context, "bot"), "bot")


def market_now(session: Session, symbol: str) -> MarketContext:
    """The latest price botdesk knows for the symbol and its market time."""
    latest = candle_store.latest_open_ms(session=session, symbol=symbol)
    at = ms_to_datetime(latest + MINUTE_MS) if latest is not None else utcnow()
    return MarketContext(
        symbol=symbol,
        at=at,
        last_price=candle_store.last_price(session=session, symbol=symbol),
    )


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
