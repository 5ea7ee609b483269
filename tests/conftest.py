"""Fixtures: real databases (SQLite always, PostgreSQL when configured), settings, processes."""

import os
from pathlib import Path

import pytest

from botdesk.db.session import Database
from botdesk.settings import Settings, get_settings
from tests.databases import (
    POSTGRES_SKIP_REASON,
    PostgresTemplate,
    SqliteTemplate,
    postgres_url,
)
from tests.keys import TEST_DATA_KEY, TEST_SECRET_KEY
from tests.processes import BotdeskProcess

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_template():
    url = postgres_url()
    if url is None:
        yield None
        return
    template = PostgresTemplate(url)
    yield template
    template.close()


def _fresh_url(request, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
    else:
        template = request.getfixturevalue("postgres_template")
        if template is None:
            pytest.skip(POSTGRES_SKIP_REASON)
    url = template.fresh(tmp_path)
    request.addfinalizer(lambda: template.drop(url))
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A freshly migrated database: each test runs once on SQLite and once on PostgreSQL."""
    return _fresh_url(request, request.param, tmp_path)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_database_url(request, tmp_path_factory) -> str:
    """Like database_url, shared by the tests of one module (e.g. behind one desk process)."""
    return _fresh_url(request, request.param, tmp_path_factory.mktemp("db"))


@pytest.fixture
def sqlite_url(request, tmp_path) -> str:
    """For what only SQLite has (the file lock, the one-engine rule, WAL)."""
    return _fresh_url(request, "sqlite", tmp_path)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def botdesk_env(database_url, tmp_path) -> dict[str, str]:
    """Environment for real botdesk processes on this test's database."""
    return make_env(database_url, tmp_path)


def make_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTDESK_")}
    if postgres_url():
        env["BOTDESK_TEST_POSTGRES_URL"] = postgres_url()
    env.update(
        BOTDESK_DATABASE_URL=database_url,
        BOTDESK_VAR_DIR=str(tmp_path / "var"),
        BOTDESK_SECRET_KEY=TEST_SECRET_KEY,
        # Fixed, so make_user can store TOTP secrets encrypted exactly as the desk does.
        BOTDESK_DATA_KEY=TEST_DATA_KEY,
        # Suites share one desk process per module and sign in many times from 127.0.0.1;
        # tests/app/test_rate_limits.py checks the limits themselves with low values.
        BOTDESK_LOGIN_RATE_LIMIT_IP="1000/minute",
        BOTDESK_LOGIN_RATE_LIMIT_USER="1000/minute",
        BOTDESK_KEY_GUESS_RATE_LIMIT="1000/minute",
        BOTDESK_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture
def settings(botdesk_env, monkeypatch) -> Settings:
    """In-process settings matching botdesk_env (for code under test in this process)."""
    for key, value in botdesk_env.items():
        if key.startswith("BOTDESK_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(Path(botdesk_env["BOTDESK_VAR_DIR"]).parent)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def processes(tmp_path):
    """Start real processes with `processes.start(args, env)`; all are stopped at the end."""
    started: list[BotdeskProcess] = []

    class Starter:
        def start(self, args: list[str], env: dict[str, str], name: str | None = None):
            log = tmp_path / f"{name or args[0]}-{len(started)}.log"
            process = BotdeskProcess(args, env, log)
            started.append(process)
            return process

    yield Starter()
    for process in started:
        process.stop()
