"""Backups: a consistent copy of the database while the engine writes, and its restore.

SQLite: SQLite's online backup API (a snapshot of one moment, whatever the writers do),
written to a temporary file and renamed into place, so a backup file is always whole.
PostgreSQL: `pg_dump --format=custom` (one snapshot transaction), restored with
`pg_restore --clean`; both need PostgreSQL's client programs on the PATH.
A restore refuses while an engine runs on the database.
"""

import os
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import select

from botdesk.db.models import EngineInstance
from botdesk.db.session import Database
from botdesk.db.types import utcnow

PG_TIMEOUT_SECONDS = 3600


class BackupError(RuntimeError):
    """A backup or restore that cannot be made; the message says why and what to do."""


def default_file(folder: Path, url: str) -> Path:
    suffix = "db" if make_url(url).get_backend_name() == "sqlite" else "dump"
    return folder / f"botdesk-{utcnow():%Y%m%dT%H%M%S.%fZ}.{suffix}"


def _sqlite_path(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("this SQLite database is in memory: nothing to back up")
    return Path(path)


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump reads it (no +psycopg driver part)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install PostgreSQL's client programs "
            "(e.g. apt-get install postgresql-client) to back up or restore PostgreSQL"
        )
    return found


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database at `url` to `target` (mode 0600)."""
    target = Path(target)
    partial = target.with_name(f".{target.name}.partial")
    _private_file(partial)
    try:
        if make_url(url).get_backend_name() == "sqlite":
            source = sqlite3.connect(_sqlite_path(url), timeout=30)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        else:
            _run([_program("pg_dump"), "--format=custom", "--file", str(partial), _libpq(url)])
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def _run(argv: list[str]) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{Path(argv[0]).name} took over {PG_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")


def running_engines(db: Database, stale_seconds: float) -> list[str]:
    """Engines that beat within the stale limit and did not stop."""
    fresh = utcnow() - timedelta(seconds=stale_seconds)
    with db.reading() as session:
        rows = session.exec(
            select(EngineInstance).where(
                EngineInstance.stopped_at == None,  # noqa: E711
                EngineInstance.last_beat >= fresh,
            )
        ).all()
    return [f"{row.id} (pid {row.pid} on {row.hostname})" for row in rows]


def _check_sqlite_file(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (verdict,) = connection.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite database: {error}") from None
    if verdict != "ok":
        raise BackupError(f"{path} is damaged: {verdict}")
    if "alembic_version" not in tables:
        raise BackupError(f"{path} is not a botdesk database (no alembic_version table)")


def restore(url: str, source: Path) -> None:
    """Replace the database at `url` with the backup `source`. The caller makes sure no
    engine runs (`running_engines`, and on SQLite the engine's file lock)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file {source}")
    if make_url(url).get_backend_name() == "sqlite":
        _check_sqlite_file(source)
        backup_copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        live = sqlite3.connect(_sqlite_path(url), timeout=30)
        try:
            backup_copy.backup(live)
        finally:
            live.close()
            backup_copy.close()
        return
    _run(
        [
            _program("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            _libpq(url),
            str(source),
        ]
    )


def prune(folder: Path, keep: int, suffix: str) -> list[Path]:
    """Remove all but the newest `keep` scheduled backups (botdesk-*.<suffix>)."""
    files = sorted(folder.glob(f"botdesk-*.{suffix}"), key=lambda path: path.name)
    removed = files[:-keep] if keep else files
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
