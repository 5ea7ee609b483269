"""The engine_state row: heartbeat and the latched kill switch, read by both processes."""

from datetime import datetime

from sqlmodel import Session, select

from botdesk.db.models import EngineState
from botdesk.db.types import utcnow


def get(*, session: Session) -> EngineState:
    state = session.get(EngineState, 1)
    if state is None:  # the migration inserts it; this only guards a hand-emptied table
        state = EngineState(id=1)
        session.add(state)
        session.flush()
    return state


def lock(*, session: Session) -> EngineState:
    """The row, locked until the transaction ends (PostgreSQL; SQLite writers are serialized)."""
    state = session.exec(select(EngineState).where(EngineState.id == 1).with_for_update()).first()
    return state or get(session=session)


def heartbeat_age_seconds(state: EngineState, now: datetime | None = None) -> float | None:
    if state.last_beat is None:
        return None
    return ((now or utcnow()) - state.last_beat).total_seconds()
