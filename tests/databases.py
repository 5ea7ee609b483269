"""Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database, per test.

Each backend is migrated once per session into a template; tests get a copy of it (a file
copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL, made and dropped in the
background), so every test starts clean.
"""

import os
import queue
import shutil
import threading
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from botdesk.db.migrate import upgrade

POSTGRES_ENV = "BOTDESK_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL tests need {POSTGRES_ENV} "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; .ci/run sets it)"
)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _admin_conninfo(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


class SqliteTemplate:
    def __init__(self, folder: Path):
        self.path = folder / "template.db"
        upgrade(f"sqlite:///{self.path}")

    def fresh(self, folder: Path) -> str:
        target = folder / "botdesk.db"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        """Files live in the test's tmp_path; pytest removes them."""

    def close(self) -> None:
        pass


class PostgresTemplate:
    """A migrated template database; each test gets its own copy.

    Copying the template takes about 0.3 s and dropping a copy forces a checkpoint
    (0.3-2 s), so both happen on background threads: the next test's copy is made while
    this test runs, and a finished test's copy is dropped behind it. `close` waits for
    every drop and raises the first error any of them met.
    """

    def __init__(self, url: str, spares: int = 1):
        self.url = url
        self.name = f"botdesk_tpl_{uuid.uuid4().hex[:10]}"
        self._admin("CREATE DATABASE", f'"{self.name}"')
        upgrade(_with_database(url, self.name))
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._wanted = threading.Semaphore(spares)
        self._to_drop: queue.Queue[str | None] = queue.Queue()
        self._errors: list[BaseException] = []
        self._closing = False
        self._maker = threading.Thread(target=self._make_spares, daemon=True)
        self._dropper = threading.Thread(target=self._drop_behind, daemon=True)
        self._maker.start()
        self._dropper.start()

    def fresh(self, _folder: Path) -> str:
        made = self._ready.get(timeout=300)
        self._wanted.release()
        if isinstance(made, BaseException):
            raise made
        return _with_database(self.url, made)

    def drop(self, url: str) -> None:
        self._to_drop.put(make_url(url).database)

    def close(self) -> None:
        self._closing = True
        self._wanted.release()
        self._maker.join()
        while not self._ready.empty():
            made = self._ready.get()
            if isinstance(made, str):
                self._to_drop.put(made)
        self._to_drop.put(None)
        self._dropper.join()
        self._admin("DROP DATABASE IF EXISTS", f'"{self.name}" WITH (FORCE)')
        if self._errors:
            raise self._errors[0]

    def _make_spares(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closing:
                return
            name = f"botdesk_t_{uuid.uuid4().hex[:12]}"
            try:
                self._admin("CREATE DATABASE", f'"{name}" TEMPLATE "{self.name}"')
            except BaseException as error:  # handed to the test that asks for it
                self._ready.put(error)
            else:
                self._ready.put(name)

    def _drop_behind(self) -> None:
        while (name := self._to_drop.get()) is not None:
            try:
                self._admin("DROP DATABASE IF EXISTS", f'"{name}" WITH (FORCE)')
            except BaseException as error:
                self._errors.append(error)

    def _admin(self, statement: str, target: str) -> None:
        with psycopg.connect(_admin_conninfo(self.url), autocommit=True) as connection:
            connection.execute(f"{statement} {target}")
