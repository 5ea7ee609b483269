"""botdesk.db.trades.performance as it was before the positions kept what their buys cost
(`position.entry_cost`): each closed trade's cost summed from its buy fills in SQL. The
reference the position-based figures are compared with, to the unit, in
tests/db/test_trades_fast.py and bench/trades_speed.py. Not used by the desk."""

from sqlmodel import Session, col, func, select

from botdesk.db.models import Bot, Fill, Position, PositionStatus
from botdesk.db.trades import (
    BUY,
    BotPerformance,
    TradeFilter,
    _figures,
    _money,
    _seconds,
    _sum,
    notional_units,
)


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
