"""BOTDESK_REQUIRE_2FA: off, a password signs in and two-factor is each user's choice; on
(the default), even a signed-in user without two-factor is sent to enrolment first."""

import re

import pytest
from sqlmodel import select

from botdesk.db.models import BackupCode
from tests.desk import RunningDesk, click, fresh_code, login
from tests.factories import PASSWORD, make_user
from tests.rows import user_named

pytestmark = pytest.mark.integration

SHOWN_SECRET = re.compile(r'"children":"((?:[A-Z2-7]{4} ){7}[A-Z2-7]{4})"')


@pytest.fixture(scope="module")
def relaxed(module_database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("relaxed")
    running = RunningDesk(module_database_url, folder, BOTDESK_REQUIRE_2FA="false")
    yield running
    running.stop()


def test_two_factor_is_optional_when_not_required(relaxed):
    make_user(relaxed.db, username="opt", totp=False)
    client, response = login(relaxed.base, "opt", PASSWORD)
    assert response.headers["location"] == "/"  # no second step

    started = click(client, relaxed.base, "account-2fa-start")
    secret = SHOWN_SECRET.search(started.text).group(1).replace(" ", "")
    values = {"account-2fa-enrol-code.value": fresh_code(secret)}
    assert "Two-factor is on" in click(client, relaxed.base, "account-2fa-confirm", values).text
    assert user_named(relaxed.db, "opt").totp_enabled

    values = {"account-2fa-code.value": fresh_code(secret)}
    off = click(client, relaxed.base, "account-2fa-disable", values)
    assert "Two-factor is off" in off.text
    row = user_named(relaxed.db, "opt")
    assert (row.totp_enabled, row.totp_secret_encrypted) == (False, None)
    with relaxed.db.reading() as session:
        assert session.exec(select(BackupCode).where(BackupCode.user_id == row.id)).all() == []


def test_a_session_without_two_factor_must_enrol_once_it_is_required(relaxed, tmp_path):
    make_user(relaxed.db, username="late", totp=False)
    client, _ = login(relaxed.base, "late", PASSWORD)
    strict = RunningDesk(relaxed.db.url, tmp_path / "strict")  # same database and keys
    try:
        assert client.get(f"{strict.base}/_dash-layout").json()["error"]["code"] == (
            "enrolment_required"
        )
        page = client.get(f"{strict.base}/users?tab=1", allow_redirects=False)
        assert page.headers["location"] == "/login/enrol"
        assert 'id="enrol-secret"' in client.get(f"{strict.base}/login/enrol").text
    finally:
        strict.stop()
