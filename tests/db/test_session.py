"""SQLite as two processes meet it: WAL, foreign keys, and writers that never see 'locked'."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import text
from sqlmodel import func, select

from botdesk.db.models import AuditLog
from botdesk.db.session import Database
from tests.conftest import make_env
from tests.processes import run_cli, start_web, wait_until

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


def mode_of(path) -> int:
    return path.stat().st_mode & 0o777


def test_the_database_and_its_wal_and_shm_are_private_to_their_user(tmp_path, processes):
    """botdesk init creates var/ 0700 and the database 0600; while the engine and the desk
    write, SQLite's -wal and -shm are 0600 too, under the usual umask of 022."""
    env = make_env(f"sqlite:///{tmp_path / 'var' / 'botdesk.db'}", tmp_path)
    previous = os.umask(0o022)  # inherited by the processes started below
    try:
        assert run_cli(["init", "--no-demo"], env).returncode == 0
        processes.start(["engine"], env)  # writes its heartbeat every second
        web, _ = start_web(env, tmp_path / "web.log")
    finally:
        os.umask(previous)
    var = tmp_path / "var"
    database = var / "botdesk.db"
    wal, shm = var / "botdesk.db-wal", var / "botdesk.db-shm"
    try:
        wait_until(lambda: wal.exists() and shm.exists(), timeout=60, message="the WAL")
        assert mode_of(var) == 0o700
        assert mode_of(database) == mode_of(wal) == mode_of(shm) == 0o600
    finally:
        web.stop()


def test_a_database_left_readable_by_others_is_made_private_when_opened(tmp_path):
    folder = tmp_path / "new-folder"
    database = folder / "botdesk.db"
    db = Database(f"sqlite:///{database}")
    with db.writing() as session:
        session.exec(text("CREATE TABLE t (x INTEGER)"))
        assert mode_of(Path(f"{database}-wal")) == mode_of(Path(f"{database}-shm")) == 0o600
    db.dispose()
    assert mode_of(folder) == 0o700 and mode_of(database) == 0o600
    database.chmod(0o644)  # as an older botdesk left it
    reopened = Database(f"sqlite:///{database}")
    with reopened.reading() as session:
        session.exec(text("SELECT COUNT(*) FROM t"))
    reopened.dispose()
    assert mode_of(database) == 0o600
