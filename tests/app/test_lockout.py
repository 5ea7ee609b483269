"""Lockout on a real desk: 5 wrong passwords or codes lock an account for 15 minutes, in the
database (it survives a restart of the desk); an admin unlocks it on the users page (the CLI
is in tests/cli/test_user_security.py)."""

from datetime import timedelta

import pytest
import requests
from sqlmodel import select

from botdesk.db.models import AuditLog
from botdesk.db.types import utcnow
from tests.desk import RunningDesk, click, csrf_token, login, password_step, submit_code
from tests.factories import PASSWORD, make_user
from tests.processes import start_web
from tests.rows import audit_trail, user_named

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    running = RunningDesk(module_database_url, tmp_path_factory.mktemp("lockout"), workers=2)
    running.admin = running.signed_in("boss", "admin")
    yield running
    running.stop()


def attempt(base: str, username: str, password: str) -> requests.Response:
    """One password attempt from a new client, as separate attackers would make them."""
    return password_step(base, username, password)[1]


def assert_locked(response: requests.Response) -> None:
    assert response.status_code == 403
    assert "This account is locked after 5 wrong passwords or codes" in response.text
    assert "ask an admin to unlock it" in response.text


def test_five_wrong_passwords_lock_the_account_for_15_minutes(desk):
    make_user(desk.db, username="mia")
    for _ in range(4):
        response = attempt(desk.base, "mia", "wrong password")
        assert response.status_code == 401
        assert "Wrong username or password" in response.text
    before = utcnow()
    assert_locked(attempt(desk.base, "mia", "wrong password"))
    after = utcnow()
    locked_until = user_named(desk.db, "mia").locked_until
    assert before + timedelta(minutes=15) <= locked_until <= after + timedelta(minutes=15)

    assert_locked(attempt(desk.base, "mia", PASSWORD))  # the right password: still locked
    trail = [(row.action, row.reason) for row in audit_trail(desk.db, "mia")]
    assert trail[:5] == [("login.failed", "bad password")] * 5
    assert trail[5][0] == "login.locked" and "5 wrong passwords or codes" in trail[5][1]
    assert trail[6] == ("login.locked", "attempt while locked")


def test_the_lock_is_in_the_database_not_in_the_process(desk, tmp_path):
    make_user(desk.db, username="ned")
    for _ in range(5):
        attempt(desk.base, "ned", "wrong password")
    other_desk, other_base = start_web(desk.env, tmp_path / "other-web.log")
    try:
        assert_locked(attempt(other_base, "ned", PASSWORD))
    finally:
        other_desk.stop()


def test_wrong_codes_count_like_wrong_passwords(desk):
    make_user(desk.db, username="ora")
    assert attempt(desk.base, "ora", "wrong password").status_code == 401
    assert attempt(desk.base, "ora", "wrong password").status_code == 401
    client = requests.Session()
    token = csrf_token(client, desk.base)
    form = {"csrf_token": token, "username": "ora", "password": PASSWORD}
    assert client.post(f"{desk.base}/login", data=form).url.endswith("/login/2fa")
    assert submit_code(client, desk.base, "/login/2fa", "111111").status_code == 401
    assert submit_code(client, desk.base, "/login/2fa", "222222").status_code == 401
    assert_locked(submit_code(client, desk.base, "/login/2fa", "333333"))
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401
    assert_locked(attempt(desk.base, "ora", PASSWORD))


def test_a_full_sign_in_resets_the_count(desk):
    make_user(desk.db, username="pat")
    for _ in range(4):
        attempt(desk.base, "pat", "wrong password")
    _, response = login(desk.base, "pat", PASSWORD)
    assert response.headers["location"] == "/"
    for _ in range(4):
        assert attempt(desk.base, "pat", "wrong password").status_code == 401
    assert user_named(desk.db, "pat").locked_until is None


def test_unknown_usernames_lock_nothing(desk):
    for _ in range(6):
        response = attempt(desk.base, "nobody-here", "whatever it is")
        assert response.status_code == 401
        assert "Wrong username or password" in response.text


def test_an_admin_unlocks_from_the_users_page(desk):
    make_user(desk.db, username="quin")
    for _ in range(5):
        attempt(desk.base, "quin", "wrong password")
    assert_locked(attempt(desk.base, "quin", PASSWORD))
    response = click(desk.admin, desk.base, "users-unlock", {"users-target.value": "quin"})
    assert response.status_code == 200
    assert "Done: unlock quin" in response.text
    _, signed_in = login(desk.base, "quin", PASSWORD)
    assert signed_in.headers["location"] == "/"
    with desk.db.reading() as session:
        unlock = session.exec(select(AuditLog).where(AuditLog.action == "user.unlock")).one()
    assert (unlock.actor, unlock.target) == ("boss", "user:quin")
