"""What the entry checks (`botdesk.engine.risk.limits`) of a candle batch ask of each
bot's past entries (the cooldown: its last entry fill; the order rate: its entries in the
last minute), read with two queries for all the bots that may enter on this candle
instead of two per entry.

Exact for a bot with no resting order: nothing buys for it between the batch's read and
its entry check (its own entry is sent after the check). Bots with resting orders (a fill
on this candle may be an entry) are not read here; their checks read as before."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from botdesk.db.models import Fill, Order, Side
from botdesk.db.types import utcnow

ORDER_RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class PastEntries:
    last_fill_at: datetime | None  # `measures.last_entry_fill_at`
    sent_at: tuple[datetime, ...]  # its buys created within a minute of the read

    def in_last_minute(self) -> int:
        """`measures.entries_in_last_minute`, counted now."""
        since = utcnow() - ORDER_RATE_WINDOW
        return sum(created > since for created in self.sent_at)


def read_past_entries(session: Session, bot_ids: list[int]) -> dict[int, PastEntries]:
    if not bot_ids:
        return {}
    last = dict(
        session.exec(
            select(Fill.bot_id, func.max(Fill.filled_at))
            .where(col(Fill.bot_id).in_(bot_ids), Fill.side == Side.BUY)
            .group_by(Fill.bot_id)
        ).all()
    )
    sent: dict[int, list[datetime]] = defaultdict(list)
    since = utcnow() - ORDER_RATE_WINDOW  # the checks, later, count from later still
    for bot_id, created in session.exec(
        select(Order.bot_id, Order.created_at).where(
            col(Order.bot_id).in_(bot_ids), Order.side == Side.BUY, col(Order.created_at) > since
        )
    ):
        sent[bot_id].append(created)
    return {
        bot_id: PastEntries(last_fill_at=last.get(bot_id), sent_at=tuple(sent[bot_id]))
        for bot_id in bot_ids
    }
