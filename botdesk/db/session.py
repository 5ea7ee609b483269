"""Engine and session factory shared by both processes.

SQLite: WAL (readers never block the writer), foreign keys on, a 30 s busy timeout, and
`BEGIN IMMEDIATE` for every writing transaction, so a writer takes the lock up front and
waits its turn instead of failing later with "database is locked". Readers begin deferred.
Within one process, SQLite writers also queue first come, first served on a ticket gate:
SQLite's own busy wait lets a thread that writes back to back (the engine's runner)
starve the others (the heartbeat, the kill switch's halt).
PostgreSQL: plain transactions (READ COMMITTED) with pre-ping.
"""

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "botdesk_write"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def keep_private(database: Path) -> None:
    """The database file, its -wal and its -shm readable and writable by this user only.

    SQLite creates the -wal and -shm with the database file's own mode, so creating the
    file 0600 before SQLite does keeps all three private whatever the umask; files left
    more open by an older version are closed down here. A folder made for the database
    is 0700.
    """
    if not database.parent.exists():
        database.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except FileNotFoundError:
            continue
        except PermissionError:  # another user's file: theirs to fix, botdesk still runs
            log.warning("cannot make %s private (mode 0600): not its owner", path)


class _FairGate:
    """A first-come, first-served lock (threading.Lock gives no such promise)."""

    def __init__(self):
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self):
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving:
                self._condition.wait()

    def __exit__(self, *_exc):
        with self._condition:
            self._serving += 1
            self._condition.notify_all()


class Database:
    """One database: `writing()` and `reading()` sessions, each one transaction."""

    def __init__(self, url: str, *, pool_size: int = 5):
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                keep_private(Path(parsed.database))
            self.engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
                pool_size=pool_size,
                max_overflow=10,
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(
                url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10
            )
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._write_gate = _FairGate() if self.is_sqlite else nullcontext()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A transaction that may write; commits on success, rolls back on error."""
        with (
            self._write_gate,
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only snapshot; never takes the write lock. Loaded rows stay usable after."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def reading_rows(self) -> Iterator[Connection]:
        """`reading` on a plain connection, for rows rather than ORM objects: the reads made
        on every request (the session check), where the ORM's objects cost more than the
        query. (On PostgreSQL, as `reading`, each statement sees what is committed when it
        runs: READ COMMITTED.)"""
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def open_polling(self) -> Connection:
        """A connection for a poller's reads, held as long as it polls (close it then),
        each read ended by `commit()`. PostgreSQL: autocommit, so each statement is its own
        snapshot and no BEGIN or COMMIT costs a round trip; SQLite: deferred read
        transactions as usual."""
        connection = self.engine.connect()
        if not self.is_sqlite:
            connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    def dispose(self) -> None:
        self.engine.dispose()


@lru_cache(maxsize=8)
def database_for(url: str) -> Database:
    return Database(url)


def get_database() -> Database:
    """The database named by BOTDESK_DATABASE_URL (one engine per process and URL)."""
    from botdesk.settings import get_settings

    return database_for(get_settings().DATABASE_URL)
