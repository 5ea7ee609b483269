"""What the batched candle path reads once for all the bots of one candle, with one query
per kind of thing instead of one per bot: open positions, realized P&L and fees, which
bots have open orders, which could trip the circuit breaker."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db.models import OPEN_ORDER_STATUSES, Bot, Order, Position, PositionStatus
from botdesk.db.risk_limits import Limits
from botdesk.db.types import utcnow
from botdesk.engine.risk.breaches import BROKER_FAILURES

ZERO = Decimal(0)


@dataclass
class BotKnown:
    position: Position | None  # the open position in the bot's symbol
    elsewhere: list[Position]  # its open positions in other symbols (a symbol changed)
    realized: Decimal  # of all the bot's positions
    fees: Decimal
    has_open_orders: bool
    breaker_candidate: bool  # enough recent failed orders that the breaker must look
    # a fill or an exit moved its positions (or P&L) during its candle: `position`,
    # `realized` and `fees` are no longer as they stand (`trading.process_candle`)
    books_moved: bool = False

    def holding(self, position: Position | None) -> list[Position]:
        """All its open positions, `position` (or none) being the one in its symbol."""
        return ([position] if position is not None else []) + self.elsewhere


def read_known(session: Session, bots: list[Bot], limits: dict[int, Limits]) -> dict[int, BotKnown]:
    ids = [bot.id for bot in bots]
    symbols = {bot.id: bot.symbol for bot in bots}
    positions: dict[int, Position] = {}
    elsewhere: dict[int, list[Position]] = defaultdict(list)
    for position in session.exec(
        select(Position)
        .where(col(Position.bot_id).in_(ids), Position.status == PositionStatus.OPEN)
        .order_by(col(Position.id))
    ):
        if position.symbol == symbols[position.bot_id] and position.bot_id not in positions:
            positions[position.bot_id] = position
        else:
            elsewhere[position.bot_id].append(position)
    sums = {
        bot_id: (realized or ZERO, fees or ZERO)
        for bot_id, realized, fees in session.exec(
            select(Position.bot_id, func.sum(Position.realized_pnl), func.sum(Position.fees))
            .where(col(Position.bot_id).in_(ids))
            .group_by(Position.bot_id)
        )
    }
    with_orders = set(
        session.exec(
            select(Order.bot_id)
            .where(col(Order.bot_id).in_(ids), col(Order.status).in_(OPEN_ORDER_STATUSES))
            .distinct()
        )
    )
    candidates = _breaker_candidates(session, ids, limits)
    return {
        bot_id: BotKnown(
            position=positions.get(bot_id),
            elsewhere=elsewhere.get(bot_id, []),
            realized=sums.get(bot_id, (ZERO, ZERO))[0],
            fees=sums.get(bot_id, (ZERO, ZERO))[1],
            has_open_orders=bot_id in with_orders,
            breaker_candidate=bot_id in candidates,
        )
        for bot_id in ids
    }


def _breaker_candidates(session: Session, ids: list[int], limits: dict[int, Limits]) -> set[int]:
    """Bots with at least `circuit_breaker_errors` failed orders inside their window: only
    these can trip the breaker (`breaches.trip_circuit_breaker` then decides exactly)."""
    rules = {}
    for bot_id in ids:
        errors = limits[bot_id].get("circuit_breaker_errors")
        window = limits[bot_id].get("circuit_breaker_window_seconds")
        if errors is not None and window is not None:
            rules[bot_id] = (int(errors), int(window))
    if not rules:
        return set()
    now = utcnow()
    widest = max(window for _, window in rules.values())
    failed: dict[int, list] = defaultdict(list)
    for bot_id, created in session.exec(
        select(Order.bot_id, Order.created_at).where(
            col(Order.bot_id).in_(list(rules)),
            col(Order.status).in_(BROKER_FAILURES),
            col(Order.created_at) >= now - timedelta(seconds=widest),
        )
    ):
        failed[bot_id].append(created)
    return {
        bot_id
        for bot_id, times in failed.items()
        if sum(created >= now - timedelta(seconds=rules[bot_id][1]) for created in times)
        >= rules[bot_id][0]
    }
