"""Who watches the engine: the watchdog reads the heartbeat the engine writes every second
and announces once when it goes stale (a dead engine cannot say so itself), then once when
it beats again. What was announced last is read back from the outbox, so a watchdog that
restarts neither repeats nor forgets an announcement."""

from datetime import datetime

from sqlmodel import Session

from botdesk.db import engine_state, notification_events, notifications
from botdesk.db.models import EngineInstance
from botdesk.db.notifications import Event
from botdesk.db.types import utcnow

HEARTBEAT_KINDS = ("engine.stale", "engine.recovered")


def check(session: Session, *, stale_seconds: float, now: datetime | None = None) -> Event | None:
    """Emit engine.stale or engine.recovered when the heartbeat crossed the line since the
    last announcement; returns the event written, if any."""
    now = now or utcnow()
    state = engine_state.get(session=session)
    if state.last_beat is None:  # no engine ever ran: nothing to miss yet
        return None
    age = (now - state.last_beat).total_seconds()
    last = notifications.latest(session=session, kinds=HEARTBEAT_KINDS)
    announced_stale = last is not None and last.kind == "engine.stale"
    if age > stale_seconds and not announced_stale:
        instance = session.get(EngineInstance, state.engine_id) if state.engine_id else None
        event = notification_events.engine_stale(
            last_beat=state.last_beat,
            age_seconds=age,
            engine_id=state.engine_id,
            stopped=instance is not None and instance.stopped_at is not None,
        )
    elif age <= stale_seconds and announced_stale:
        event = notification_events.engine_recovered(
            stale_id=last.id,
            engine_id=state.engine_id,
            down_seconds=(now - last.at).total_seconds() + stale_seconds,
        )
    else:
        return None
    return event if notifications.emit(session, event) else None
