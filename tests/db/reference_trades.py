"""botdesk.db.trades.performance as it was before the positions kept what their buys cost
(`position.entry_cost`): each closed trade's cost summed from its buy fills in SQL. The
reference the position-based figures are compared with, to the unit, in
tests/db/test_trades_fast.py and bench/trades_speed.py. Not used by the desk."""

from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db.models import Bot, Fill, Position, PositionStatus
from botdesk.db.trades import (
    BUY,
    ZERO,
    BotPerformance,
    TradeFilter,
    _money,
    _seconds,
    _sum,
    notional_units,
    ratio,
)
from botdesk.db.types import from_units, quantize


def performance(*, session: Session, chosen: TradeFilter | None = None) -> list[BotPerformance]:
    costs = (
        select(
            Fill.position_id.label("position_id"),
            _sum(notional_units(Fill.quantity, Fill.price)).label("cost"),
        )
        .where(col(Fill.side) == BUY)
        .group_by(col(Fill.position_id))
    )
    conditions = (chosen or TradeFilter()).conditions()
    if conditions:  # only the chosen positions' fills
        costs = costs.where(col(Fill.position_id).in_(select(Position.id).where(*conditions)))
    costs = costs.subquery()
    closed = [col(Position.status) == PositionStatus.CLOSED, *conditions]
    rows = session.execute(
        select(Position.bot_id, _money(Position.realized_pnl), costs.c.cost)
        .join(costs, costs.c.position_id == col(Position.id))
        .where(*closed)
        .order_by(col(Position.bot_id), col(Position.closed_at), col(Position.id))
    ).all()
    held = dict(
        session.execute(
            select(
                Position.bot_id,
                func.sum(_seconds(session, Position.closed_at, Position.opened_at)),
            )
            .where(*closed)
            .group_by(col(Position.bot_id))
        ).all()
    )
    names = dict(session.exec(select(Bot.id, Bot.name)).all())
    by_bot: dict[int, list[tuple[int, int]]] = {}
    for bot_id, pnl, cost in rows:
        by_bot.setdefault(bot_id, []).append((pnl, cost))
    figures = [
        _figures(bot_id, names.get(bot_id, f"#{bot_id}"), trips, float(held.get(bot_id) or 0))
        for bot_id, trips in by_bot.items()
    ]
    return sorted(figures, key=lambda found: (found.bot_name, found.bot_id))


def _figures(bot_id: int, name: str, rows: list[tuple[int, int]], held: float) -> BotPerformance:
    """A bot's figures from its closed trades (P&L and cost in units), in the order they
    closed, and the seconds they were held in all."""
    count = len(rows)
    ratios = sum((ratio(Decimal(pnl), Decimal(cost)) for pnl, cost in rows), ZERO)
    total = gains = losses = wins = running = peak = deepest = 0
    for pnl, _ in rows:
        total += pnl
        if pnl > 0:
            gains += pnl
            wins += 1
        else:
            losses -= pnl
        running += pnl
        peak = max(peak, running)
        deepest = max(deepest, peak - running)
    return BotPerformance(
        bot_id=bot_id,
        bot_name=name,
        trades=count,
        wins=wins,
        win_rate=ratio(Decimal(wins), Decimal(count)),
        average_pnl_ratio=quantize(ratios / count),
        total_pnl_ratio=ratios,
        total_pnl=from_units(total),
        profit_factor=ratio(Decimal(gains), Decimal(losses)) if losses else None,
        max_drawdown=from_units(deepest),
        average_duration=timedelta(seconds=round(held / count)),
        expectancy=quantize(from_units(total) / count),
    )
