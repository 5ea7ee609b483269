"""`notifications.emit_many` writes any number of events with one fixed statement: it is
compiled once, not once per row count, and still counts only the events that were new."""

from sqlalchemy import event
from sqlmodel import func, select

from botdesk.db import notifications
from botdesk.db.models import Notification
from botdesk.db.notifications import Event


def _event(key: str) -> Event:
    return Event(kind="signal.created", severity="info", title="t", body="b", dedupe_key=key)


def test_emitting_any_number_of_events_compiles_the_insert_once(db):
    compiled = []

    def seen(_conn, _cursor, statement, _params, context, _many):
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATION"):
            compiled.append(context.cache_hit)

    engine = db.engine
    event.listen(engine, "after_cursor_execute", seen)
    try:
        for round_, count in enumerate((1, 2, 3, 5, 1)):
            with db.writing() as session:
                keys = [f"k{round_}-{number}" for number in range(count)]
                assert notifications.emit_many(session, [_event(key) for key in keys]) == count
    finally:
        event.remove(engine, "after_cursor_execute", seen)
    # compiled at most twice (one row, many rows: SQLAlchemy keeps the two apart); every
    # later row count reuses them (a statement without a cache key compiles every time)
    assert len(compiled) == 5
    assert sum("CACHE_HIT" not in str(hit) for hit in compiled) <= 2, compiled


def test_events_already_there_are_skipped_and_not_counted(db):
    with db.writing() as session:
        assert notifications.emit_many(session, [_event("a"), _event("b")]) == 2
    with db.writing() as session:
        batch = [_event("b"), _event("c"), _event("a"), _event("d")]
        assert notifications.emit_many(session, batch) == 2
        assert notifications.emit(session, _event("c")) is False
    with db.reading() as session:
        assert session.exec(select(func.count()).select_from(Notification)).one() == 4


def test_more_events_than_one_page_of_rows(db):
    with db.writing() as session:
        many = [_event(f"m{number}") for number in range(2_500)]
        assert notifications.emit_many(session, many) == 2_500
        assert notifications.emit_many(session, [*many[:10], _event("new")]) == 1
