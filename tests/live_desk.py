"""`desk`: one real desk process per test module and database backend, shared by its tests.

Tests in a module share the database, so each makes its own users, keys and bots. A
folder's conftest.py imports the fixture to offer it (a module that needs other settings
starts its own RunningDesk, as tests/app/test_lockout.py does).
"""

import pytest

from tests.desk import RunningDesk

Desk = RunningDesk


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    running = RunningDesk(module_database_url, tmp_path_factory.mktemp("desk"))
    yield running
    running.stop()
