"""What a closed position was, worked out from its fills: the quantity it closed, the
average exit price, the P&L as a share of what was paid, how long it was held, and why it
closed (the engine's exit kind, with the operator's reason when someone closed it).

A closed position's own row keeps quantity 0 (nothing is held any more), so the Positions
grid fills these cells for the block it shows, with one query over the block's fills and
one over its close commands.
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from botdesk.db.models import Command, Fill, Position, PositionStatus, Side

ZERO = Decimal(0)


@dataclass
class ClosedPosition:
    quantity: Decimal = ZERO  # sold to close it (what was held)
    proceeds: Decimal = ZERO  # quote received for it, before fees
    cost: Decimal = ZERO  # quote paid for it, before fees
    exit_price: Decimal | None = None
    pnl_percent: Decimal | None = None
    held: timedelta | None = None
    reason: str = ""


def held_text(held: timedelta | None) -> str:
    """A duration as a trader reads it: 45s, 12m, 3h 05m, 2d 4h."""
    if held is None:
        return ""
    seconds = int(held.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


def _owner(positions: list[Position], fill: Fill) -> Position | None:
    """The position a fill belongs to: a buy to the latest opened at or before it, a sell
    to the earliest closed at or after it (a position can close and the next open in the
    same second)."""
    mine = [p for p in positions if p.bot_id == fill.bot_id and p.symbol == fill.symbol]
    started = [p for p in mine if p.opened_at <= fill.filled_at]
    if fill.side == Side.BUY:
        return max(started, key=lambda p: (p.opened_at, p.id), default=None)
    ending = [p for p in started if p.closed_at is not None and p.closed_at >= fill.filled_at]
    return min(ending, key=lambda p: (p.closed_at, p.id), default=None)


def _operator_reasons(session: Session, ids: list[int]) -> dict[int, str]:
    """The reason given with each position's position.close command, by position id."""
    targets = [f"position:{position_id}" for position_id in ids]
    query = select(Command.target, Command.params, Command.reason).where(
        Command.kind == "position.close", col(Command.target).in_(targets)
    )
    reasons = {}
    for target, params, reason in session.exec(query.order_by(col(Command.id))).all():
        given = ""
        try:
            given = (json.loads(params) if params else {}).get("reason") or ""
        except (ValueError, AttributeError):
            given = ""
        reasons[int(target.split(":", 1)[1])] = (given or reason or "").strip()
    return reasons


def closed_positions(*, session: Session, positions: list[Position]) -> dict[int, ClosedPosition]:
    """Details of the closed ones among `positions`, by position id."""
    closed = [p for p in positions if p.status == PositionStatus.CLOSED and p.closed_at]
    if not closed:
        return {}
    query = select(Fill).where(
        col(Fill.bot_id).in_({p.bot_id for p in closed}),
        col(Fill.filled_at) >= min(p.opened_at for p in closed),
        col(Fill.filled_at) <= max(p.closed_at for p in closed),
    )
    details = {p.id: ClosedPosition() for p in closed}
    for fill in session.exec(query):
        owner = _owner(closed, fill)
        if owner is None:
            continue
        detail = details[owner.id]
        notional = fill.quantity * fill.price
        if fill.side == Side.SELL:
            detail.quantity += fill.quantity
            detail.proceeds += notional
        else:
            detail.cost += notional
    reasons = _operator_reasons(session, [p.id for p in closed])
    for position in closed:
        detail = details[position.id]
        if detail.quantity:
            detail.exit_price = detail.proceeds / detail.quantity
        if detail.cost:
            detail.pnl_percent = position.realized_pnl / detail.cost * 100
        detail.held = position.closed_at - position.opened_at
        kind = (position.exit_reason or "").replace("_", " ")
        given = reasons.get(position.id)
        detail.reason = f"{kind}: {given}" if given else kind
    return details
