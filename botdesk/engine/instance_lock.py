"""One engine per SQLite database: an OS file lock beside the database file.

The lock dies with the process (even on kill -9), so a crashed engine never blocks the next
start. PostgreSQL needs no lock: several engines share the bots through leases.
"""

import fcntl
import os
import socket
from pathlib import Path

from sqlalchemy.engine import make_url


class EngineAlreadyRunning(RuntimeError):
    """Another engine holds this database."""


class InstanceLock:
    def __init__(self, path: Path):
        self.path = path
        self._handle = None

    def acquire(self, database_url: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115  (held open for the life of the engine)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EngineAlreadyRunning(
                f"another engine is already running on {database_url} ({holder}). "
                "Stop it first; to run several engines, move to PostgreSQL."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def lock_for(database_url: str) -> InstanceLock | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return InstanceLock(Path(url.database).resolve().with_suffix(".engine.lock"))
