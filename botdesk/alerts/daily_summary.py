"""The daily summary, announced at 00:00 UTC for the day that just ended: realized P&L per
bot and in total, unrealized P&L and open positions now, exposure against the desk's
limit. A watchdog that was down at midnight sends it when it starts (until 06:00 UTC);
the day's dedupe key keeps it to one."""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db import notification_events, notifications, risk_limits
from botdesk.db.models import Bot, Fill, Position, PositionStatus
from botdesk.db.notifications import Event
from botdesk.db.types import utcnow

ZERO = Decimal(0)
CATCH_UP = timedelta(hours=6)


def build(session: Session, day: date) -> Event:
    start = datetime.combine(day, time(), UTC)
    end = start + timedelta(days=1)
    names = dict(session.exec(select(Bot.id, Bot.name)).all())
    realized = dict(
        session.exec(
            select(Fill.bot_id, func.sum(Fill.realized_pnl))
            .where(col(Fill.filled_at) >= start, col(Fill.filled_at) < end)
            .group_by(Fill.bot_id)
        ).all()
    )
    positions = list(
        session.exec(
            select(Position)
            .where(Position.status == PositionStatus.OPEN)
            .order_by(col(Position.bot_id))
        )
    )
    unrealized: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for position in positions:
        unrealized[position.bot_id] += position.unrealized_pnl
    bot_ids = sorted(set(realized) | set(unrealized), key=lambda bot_id: names.get(bot_id, ""))
    pnl_lines = [
        (names.get(bot_id, f"bot {bot_id}"), realized.get(bot_id) or ZERO, unrealized[bot_id])
        for bot_id in bot_ids
    ]
    position_lines = []
    exposure = ZERO
    for position in positions:
        value = position.quantity * (position.last_price or position.entry_price or ZERO)
        exposure += value
        position_lines.append(
            (
                names.get(position.bot_id, f"bot {position.bot_id}"),
                position.symbol,
                position.quantity,
                value.quantize(Decimal("0.01")),
            )
        )
    limits = risk_limits.effective(session=session, bot_id=None)
    limit = limits.desk.get("max_total_exposure") or limits.get("max_total_exposure")
    return notification_events.daily_summary(
        day=day,
        pnl_by_bot=pnl_lines,
        positions=position_lines,
        exposure=exposure.quantize(Decimal("0.01")),
        exposure_limit=limit,
    )


def run(session: Session, now: datetime | None = None) -> bool:
    """Write yesterday's summary if it is due and not written yet."""
    now = now or utcnow()
    today = now.date()
    if now - datetime.combine(today, time(), UTC) > CATCH_UP:
        return False
    day = today - timedelta(days=1)
    if notifications.exists(session=session, dedupe_key=f"summary.daily:{day.isoformat()}"):
        return False
    return notifications.emit(session, build(session, day))
