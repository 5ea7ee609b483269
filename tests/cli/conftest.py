"""Fixtures for the command-line tests."""

import pytest

from tests.conftest import make_env


@pytest.fixture
def fresh_env(tmp_path):
    """A machine with nothing yet: no database file, no keys."""
    env = make_env(f"sqlite:///{tmp_path / 'var' / 'botdesk.db'}", tmp_path)
    del env["BOTDESK_SECRET_KEY"], env["BOTDESK_DATA_KEY"]
    return env
