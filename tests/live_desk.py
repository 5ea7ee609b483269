"""`desk`: one real desk process per test module and database backend, shared by its tests.

Tests in a module share the database, so each makes its own users, keys and bots. A
folder's conftest.py imports the fixture to offer it (a module's own `desk`, as in
tests/app/test_wall.py, takes precedence).
"""

from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from botdesk.db.session import Database
from tests.conftest import _fresh_url, make_env
from tests.processes import start_web


@dataclass
class Desk:
    base: str
    db: Database
    env: dict[str, str]
    log: Path

    def call(self, method: str, path: str, key: str | None = None, **options) -> requests.Response:
        headers = dict(options.pop("headers", {}))
        if key is not None:
            headers["X-API-Key"] = key
        return requests.request(method, self.base + path, headers=headers, timeout=30, **options)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def desk(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"desk-{request.param}")
    url = _fresh_url(request, request.param, folder)
    env = make_env(url, folder)
    web, base = start_web(env, folder / "web.log")
    db = Database(url)
    yield Desk(base, db, env, folder / "web.log")
    web.stop()
    db.dispose()
