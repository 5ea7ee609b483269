"""The login wall of a real desk process: anonymous refused, wrong password refused, right
password admitted; sessions that end; callbacks nobody registered refused."""

import pytest
import requests
from sqlmodel import col, select

from botdesk.db.models import AuditLog, User
from tests.desk import (
    RunningDesk,
    csrf_token,
    dash_call,
    fresh_code,
    login,
    shell_poll,
    submit_code,
)
from tests.factories import PASSWORD, TOTP_SECRETS, make_user

pytestmark = pytest.mark.integration

TICK = [{"id": "shell-tick", "property": "n_intervals", "value": 1}]


@pytest.fixture(scope="module")
def running(module_database_url, tmp_path_factory):
    """One desk for the module; each test uses its own users."""
    desk = RunningDesk(module_database_url, tmp_path_factory.mktemp("wall"))
    yield desk
    desk.stop()


@pytest.fixture
def desk(running) -> str:
    return running.base


@pytest.fixture
def db(running):
    return running.db


def _audit(db, action: str, actors: set[str]) -> list[AuditLog]:
    query = select(AuditLog).where(AuditLog.action == action, col(AuditLog.actor).in_(actors))
    with db.reading() as session:
        return list(session.exec(query.order_by(col(AuditLog.id))))


def test_anonymous_requests_are_refused_everywhere_but_login_and_assets(desk):
    anonymous = requests.Session()
    page = anonymous.get(f"{desk}/", allow_redirects=False)
    assert page.status_code == 302
    assert page.headers["location"].startswith("/login?next=/")
    deep = anonymous.get(f"{desk}/bots?x=1", allow_redirects=False)
    assert deep.headers["location"].startswith("/login?next=/bots")
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert anonymous.get(desk + path).status_code == 401
    assert shell_poll(anonymous, desk, TICK).status_code == 401
    assert anonymous.get(f"{desk}/login").status_code == 200
    assert anonymous.get(f"{desk}/assets/bootstrap.min.css").status_code == 200


def test_wrong_password_is_refused_and_audited(db, desk):
    user = make_user(db, username="alice")
    client, response = login(desk, "alice", "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert client.get(f"{desk}/_dash-layout").status_code == 401
    _, unknown = login(desk, "nobody", "whatever")
    assert unknown.status_code == 401
    failures = _audit(db, "login.failed", {"alice", "nobody"})
    assert {row.actor for row in failures} == {"alice", "nobody"}
    assert all(row.outcome == "refused" and row.ip == "127.0.0.1" for row in failures)
    assert failures[0].user_id == user.id


def test_right_password_is_admitted_to_pages_and_callbacks(db, desk):
    make_user(db, username="bob", role="viewer")
    client, response = login(desk, "bob", PASSWORD)
    assert response.status_code == 302
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get(f"{desk}/").status_code == 200
    layout = client.get(f"{desk}/_dash-layout")
    assert layout.status_code == 200 and "bob" in layout.text
    status = shell_poll(client, desk, TICK)
    assert status.status_code == 200
    assert "Engine not running" in status.text  # no engine in this test: said loudly
    assert [row.actor for row in _audit(db, "login.ok", {"bob"})] == ["bob"]


def test_the_login_form_needs_its_csrf_token(db, desk):
    make_user(db, username="carol")
    client = requests.Session()
    response = client.post(
        f"{desk}/login", data={"username": "carol", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status_code == 400
    assert "form expired" in response.text
    assert client.get(f"{desk}/_dash-layout").status_code == 401


def test_login_never_redirects_to_another_site(db, desk):
    make_user(db, username="dave")
    client = requests.Session()
    token = csrf_token(client, desk)
    response = client.post(
        f"{desk}/login?next=//evil.example/x",
        data={"csrf_token": token, "username": "dave", "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.headers["location"] == "/login/2fa"
    signed_in = submit_code(client, desk, "/login/2fa", fresh_code(TOTP_SECRETS["dave"]))
    assert signed_in.headers["location"] == "/"


def test_disabled_users_cannot_log_in_and_lose_their_sessions(db, desk):
    make_user(db, username="erin")
    client, _ = login(desk, "erin", PASSWORD)
    assert client.get(f"{desk}/_dash-layout").status_code == 200
    with db.writing() as session:
        user = session.exec(select(User).where(User.username == "erin")).one()
        user.disabled = True
        user.session_version += 1
    assert client.get(f"{desk}/_dash-layout").status_code == 401
    _, again = login(desk, "erin", PASSWORD)
    assert again.status_code == 401


def test_callbacks_not_registered_through_the_role_gate_are_refused(db, desk):
    make_user(db, username="frank", role="admin")
    client, _ = login(desk, "frank", PASSWORD)
    response = dash_call(client, desk, "made-up.children", TICK)
    assert response.status_code == 403
    refusals = _audit(db, "access.refused", {"frank"})
    assert refusals and refusals[-1].actor == "frank"
    assert "made-up.children" in refusals[-1].target
