"""SQLite as two processes meet it: WAL, foreign keys, and writers that never see 'locked'."""

import subprocess
import sys
import textwrap

from sqlalchemy import text
from sqlmodel import func, select

from botdesk.db.models import AuditLog
from botdesk.db.session import Database

WRITER = textwrap.dedent(
    """
    import sys
    from botdesk.db import audit, engine_state
    from botdesk.db.session import Database
    from botdesk.db.types import utcnow

    db = Database(sys.argv[1])
    name = sys.argv[2]
    for number in range(int(sys.argv[3])):
        with db.writing() as session:
            # read-then-write in one transaction: the pattern that deadlocks without
            # BEGIN IMMEDIATE ("database is locked" on the upgrade from reader to writer)
            state = engine_state.get(session=session)
            state.last_beat = utcnow()
            session.add(state)
            audit.record(session=session, actor=name, action="test.write", target=str(number))
        with db.reading() as session:
            engine_state.get(session=session)
    print("done", name)
    """
)


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_url):
    db = Database(sqlite_url)
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    db.dispose()


def test_two_processes_write_one_sqlite_file_concurrently_without_lock_errors(sqlite_url):
    writes_each = 400
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, sqlite_url, name, str(writes_each)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("engine-like", "desk-like")
    ]
    results = [writer.communicate(timeout=300) for writer in writers]
    for writer, (out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err.lower()
        assert out.startswith("done")
    db = Database(sqlite_url)
    with db.reading() as session:
        per_writer = dict(
            session.exec(select(AuditLog.actor, func.count()).group_by(AuditLog.actor)).all()
        )
    db.dispose()
    assert per_writer == {"engine-like": writes_each, "desk-like": writes_each}
