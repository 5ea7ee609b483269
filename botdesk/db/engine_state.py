"""The engine_state row: heartbeat and the latched kill switch, read by both processes."""

from datetime import datetime

from sqlalchemy import Connection, Row
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


_ROW = select(EngineState).where(EngineState.id == 1)
_LOCKED = _ROW.with_for_update()  # the engine's read before every order, built once


def read(*, connection: Connection) -> Row | EngineState:
    """The row as a plain row (the same attributes) on a plain connection: the desk's shell
    reads it on every page's poll, where the ORM's object costs more than the query."""
    return connection.execute(_ROW).first() or EngineState(id=1)


def lock(*, session: Session) -> EngineState:
    """The row, locked until the transaction ends (PostgreSQL; SQLite writers are serialized)."""
    state = session.exec(_LOCKED).first()
    return state or get(session=session)


def heartbeat_age_seconds(state: EngineState, now: datetime | None = None) -> float | None:
    if state.last_beat is None:
        return None
    return ((now or utcnow()) - state.last_beat).total_seconds()
