"""The engine_state row on both databases: the desk's plain read gives what the ORM's does,
attribute by attribute (times in UTC), and defaults when the row is missing."""

from datetime import timedelta

from sqlmodel import delete

from botdesk.db import engine_state, kill_switch
from botdesk.db.models import EngineState, Role
from botdesk.db.types import utcnow

FIELDS = [name for name in EngineState.model_fields]


def test_the_plain_read_gives_what_the_orm_gives(db):
    with db.writing() as session:
        state = engine_state.get(session=session)
        state.last_beat = utcnow() - timedelta(seconds=3)
        state.engine_id = "engine-a"
        kill_switch.engage(session=session, by="ada", role=Role.ADMIN, reason="feed froze")
    with db.reading() as session:
        kept = engine_state.get(session=session)
    with db.reading_rows() as connection:
        plain = engine_state.read(connection=connection)
    assert {name: getattr(plain, name) for name in FIELDS} == kept.model_dump()
    assert plain.kill_switch_engaged and plain.kill_switch_reason == "feed froze"
    assert plain.last_beat.utcoffset() == timedelta(0)
    assert 2 < engine_state.heartbeat_age_seconds(plain) < 60


def test_a_missing_row_reads_as_its_defaults(db):
    with db.writing() as session:
        session.exec(delete(EngineState))
    with db.reading_rows() as connection:
        plain = engine_state.read(connection=connection)
    assert not plain.kill_switch_engaged and plain.last_beat is None
