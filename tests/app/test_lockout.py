"""Lockout on a real desk: 5 wrong passwords or codes lock an account for 15 minutes, in the
database (it survives a restart of the desk); an admin unlocks it on the users page (the CLI
is in tests/cli/test_user_security.py)."""

import re
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


REFUSED = "Wrong username or password, or the account is locked: 5 wrong attempts in a row"


def assert_refused(response: requests.Response) -> None:
    """The one answer of the password step to any refusal: it names no account state."""
    assert response.status_code == 401
    assert REFUSED in response.text and "locked until" not in response.text


def assert_locked(response: requests.Response) -> None:
    """The code step (only the password's owner reaches it) says the account is locked."""
    assert response.status_code == 403
    assert "This account is locked after 5 wrong passwords or codes" in response.text
    assert "ask an admin to unlock it" in response.text


def is_locked(desk, username: str) -> bool:
    until = user_named(desk.db, username).locked_until
    return until is not None and until > utcnow()


def comparable(response: requests.Response, username: str) -> str:
    """The answer without what differs between any two requests: the CSRF token and the
    name typed (echoed in the form)."""
    page = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", response.text)
    return page.replace(f'value="{username}"', 'value=""')


def test_five_wrong_passwords_lock_the_account_for_15_minutes(desk):
    make_user(desk.db, username="mia")
    for _ in range(4):
        assert_refused(attempt(desk.base, "mia", "wrong password"))
    assert not is_locked(desk, "mia")
    before = utcnow()
    assert_refused(attempt(desk.base, "mia", "wrong password"))
    after = utcnow()
    locked_until = user_named(desk.db, "mia").locked_until
    assert before + timedelta(minutes=15) <= locked_until <= after + timedelta(minutes=15)

    assert_refused(attempt(desk.base, "mia", PASSWORD))  # the right password: still locked
    assert is_locked(desk, "mia")
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
        assert_refused(attempt(other_base, "ned", PASSWORD))
        trail = audit_trail(desk.db, "ned")
        assert (trail[-1].action, trail[-1].reason) == ("login.locked", "attempt while locked")
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
    assert_refused(attempt(desk.base, "ora", PASSWORD))
    assert is_locked(desk, "ora")


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
        assert_refused(attempt(desk.base, "nobody-here", "whatever it is"))


def test_a_locked_account_answers_exactly_as_an_unknown_name(desk):
    """The lockout must not tell who exists: after 5 wrong passwords a real account and a
    name nobody has get the same status and the same page, attempt after attempt."""
    make_user(desk.db, username="rex")
    real = [attempt(desk.base, "rex", "wrong password") for _ in range(7)]
    unknown = [attempt(desk.base, "rex-nobody", "wrong password") for _ in range(7)]
    assert is_locked(desk, "rex")
    real.append(attempt(desk.base, "rex", PASSWORD))  # right password, locked account
    unknown.append(attempt(desk.base, "rex-nobody", PASSWORD))
    for mine, nobodys in zip(real, unknown, strict=True):
        assert mine.status_code == nobodys.status_code == 401
        assert comparable(mine, "rex") == comparable(nobodys, "rex-nobody")


def test_an_admin_unlocks_from_the_users_page(desk):
    make_user(desk.db, username="quin")
    for _ in range(5):
        attempt(desk.base, "quin", "wrong password")
    assert_refused(attempt(desk.base, "quin", PASSWORD))
    assert is_locked(desk, "quin")
    response = click(desk.admin, desk.base, "users-unlock", {"users-target.value": "quin"})
    assert response.status_code == 200
    assert "Done: unlock quin" in response.text
    _, signed_in = login(desk.base, "quin", PASSWORD)
    assert signed_in.headers["location"] == "/"
    with desk.db.reading() as session:
        unlock = session.exec(select(AuditLog).where(AuditLog.action == "user.unlock")).one()
    assert (unlock.actor, unlock.target) == ("boss", "user:quin")
