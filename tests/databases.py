"""Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database, per test.

Each backend is migrated once per session into a template; tests get a copy of it (a file
copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so every test starts clean.
"""

import os
import shutil
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
    def __init__(self, url: str):
        self.url = url
        self.name = f"botdesk_tpl_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(_admin_conninfo(url), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        upgrade(_with_database(url, self.name))

    def fresh(self, _folder: Path) -> str:
        name = f"botdesk_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin_conninfo(self.url), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return _with_database(self.url, name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(_admin_conninfo(self.url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        with psycopg.connect(_admin_conninfo(self.url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
