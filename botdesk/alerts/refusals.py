"""Risk refusals, aggregated: the engine records each refusal as a risk event (in the
candle's transaction); the watchdog announces them as one message per bot, rule and
window of NOTIFY_REFUSAL_WINDOW_MINUTES, never one per candle. A window is announced once
it has closed (and a little later, so that a transaction still committing is in it); its
dedupe key makes a second look at the same window harmless."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from botdesk.db import notification_events, notifications
from botdesk.db.models import Bot, RiskEvent
from botdesk.db.types import utcnow

SETTLE = timedelta(seconds=30)  # a refusal's row commits this long after its time at most
LOOK_BACK = timedelta(hours=1)  # on start, windows this old are still announced


def window_start(at: datetime, minutes: int) -> datetime:
    epoch_minutes = int(at.timestamp() // 60)
    return datetime.fromtimestamp((epoch_minutes - epoch_minutes % minutes) * 60, UTC)


class RefusalDigest:
    """Remembers up to where refusals were announced (from one hour back at start)."""

    def __init__(self, minutes: int):
        self.minutes = minutes
        self.announced_until: datetime | None = None

    def run(self, session: Session, now: datetime | None = None) -> int:
        now = now or utcnow()
        closed_until = window_start(now - SETTLE, self.minutes)
        since = self.announced_until or window_start(now - LOOK_BACK, self.minutes)
        if closed_until <= since:
            return 0
        rows = session.exec(
            select(RiskEvent.bot_id, RiskEvent.rule, RiskEvent.at, RiskEvent.message)
            .where(
                RiskEvent.kind == "refused",
                col(RiskEvent.at) >= since,
                col(RiskEvent.at) < closed_until,
            )
            .order_by(col(RiskEvent.id))
        ).all()
        groups: dict[tuple, list] = defaultdict(lambda: [0, ""])
        for bot_id, rule, at, message in rows:
            group = groups[(bot_id, rule or "risk", window_start(at, self.minutes))]
            group[0] += 1
            group[1] = message
        bots = {bot.id: bot for bot in session.exec(select(Bot))} if groups else {}
        events = [
            notification_events.risk_refusals(
                bot_id=bot_id,
                bot=bots.get(bot_id),
                rule=rule,
                count=count,
                window_start=start,
                window_minutes=self.minutes,
                last_message=message,
            )
            for (bot_id, rule, start), (count, message) in sorted(
                groups.items(), key=lambda item: (item[0][2], str(item[0][0]), item[0][1])
            )
        ]
        written = notifications.emit_many(session, events)
        self.announced_until = closed_until
        return written
