"""Sessions on a real desk: cookie flags, idle timeout and absolute lifetime (presented as
aged cookies signed with the test key: real requests, no waiting), background polls that
do not count as activity, sign-out, and every way a session is revoked."""

import re
import time

import pytest
import requests
from sqlmodel import select

from botdesk.app.auth import SEEN_COOKIE_SECONDS
from botdesk.app.factory import create_app
from botdesk.db.models import AuditLog, Command, DeskSession, User
from tests.desk import (
    call_registered,
    click,
    csrf_token,
    dependencies,
    login,
    password_step,
    read_session,
    render,
    shell_poll,
    write_session,
)
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.integration

POLL = [{"id": "shell-tick", "property": "n_intervals", "value": 7}]
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("root-admin", "admin")


def signed_in(client: requests.Session, base: str) -> bool:
    return client.get(f"{base}/_dash-layout").status_code == 200


def age_session(client: requests.Session, **seconds_ago: float) -> None:
    data = read_session(client)
    for key, ago in seconds_ago.items():
        data[key] = time.time() - ago
    write_session(client, data)


def test_cookie_is_http_only_and_same_site_lax(desk):
    make_user(desk.db, username="una")
    _, response = login(desk.base, "una", PASSWORD)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_the_cookie_is_secure_when_the_desk_is_served_over_https(settings):
    """In process: a configuration flag, no need for another desk process."""
    for secure in (False, True):
        app = create_app(settings.model_copy(update={"SECURE_COOKIES": secure}))
        cookie = app.server.test_client().get("/login").headers["Set-Cookie"]
        assert ("; Secure" in cookie) == secure
        assert "; HttpOnly" in cookie and "; SameSite=Lax" in cookie


def test_an_idle_session_ends_after_the_idle_minutes(desk):
    make_user(desk.db, username="vic")
    client, _ = login(desk.base, "vic", PASSWORD)
    age_session(client, seen_at=29 * 60)
    assert signed_in(client, desk.base)  # 29 minutes idle: still in (and now active again)
    age_session(client, seen_at=31 * 60)
    page = client.get(f"{desk.base}/", allow_redirects=False)
    assert page.status_code == 302 and page.headers["location"].startswith("/login?next=/")
    assert "ended after a period of inactivity" in client.get(f"{desk.base}/login").text
    assert not signed_in(client, desk.base)


def test_background_polls_do_not_keep_a_session_alive(desk):
    make_user(desk.db, username="wes")
    client, _ = login(desk.base, "wes", PASSWORD)
    age_session(client, seen_at=20 * 60)
    idle_since = read_session(client)["seen_at"]
    assert shell_poll(client, desk.base, POLL).status_code == 200
    assert read_session(client)["seen_at"] == idle_since
    age_session(client, seen_at=31 * 60)
    assert shell_poll(client, desk.base, POLL).status_code == 401


def test_a_click_counts_as_activity(desk):
    make_user(desk.db, username="xia")
    client, _ = login(desk.base, "xia", PASSWORD)
    age_session(client, seen_at=20 * 60)
    clicked = shell_poll(client, desk.base, POLL, changed=["account-2fa-start.n_clicks"])
    assert clicked.status_code == 200
    assert time.time() - read_session(client)["seen_at"] < 60


def test_a_session_ends_at_its_absolute_lifetime_even_when_active(desk):
    make_user(desk.db, username="yan")
    client, _ = login(desk.base, "yan", PASSWORD)
    age_session(client, login_at=12 * 3600 + 60, seen_at=1)
    assert client.get(f"{desk.base}/", allow_redirects=False).status_code == 302
    assert "maximum lifetime" in client.get(f"{desk.base}/login").text


def test_sign_out_ends_the_session_and_is_audited(desk):
    make_user(desk.db, username="zed")
    client, _ = login(desk.base, "zed", PASSWORD)
    # a link (GET) only asks, and a POST without the page's token is refused: another
    # site cannot sign anyone out
    asked = client.get(f"{desk.base}/logout")
    assert asked.status_code == 200 and "Sign out of botdesk?" in asked.text
    client.post(f"{desk.base}/logout", data={})
    assert signed_in(client, desk.base)
    token = csrf_token(client, desk.base, "/logout")
    client.post(f"{desk.base}/logout", data={"csrf_token": token})
    assert not signed_in(client, desk.base)
    with desk.db.reading() as session:
        row = session.exec(select(AuditLog).where(AuditLog.action == "logout")).one()
    assert row.actor == "zed"


def copy_of(client: requests.Session) -> requests.Session:
    """Another client holding the same cookies (a cookie copied out of the browser)."""
    copy = requests.Session()
    copy.cookies.update(client.cookies)
    return copy


def engage_callback(client: requests.Session, base: str) -> dict:
    return next(
        dep
        for dep in dependencies(client, base)
        if any(item["id"] == "kill-engage" for item in dep["inputs"])
    )


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(desk):
    """ASVS 3.3.1: sign-out ends the session on the server, not only in the browser."""
    make_user(desk.db, username="ned", role="trader")
    client, _ = login(desk.base, "ned", PASSWORD)
    stolen = copy_of(client)
    assert stolen.get(f"{desk.base}/export/fill.csv").status_code == 200
    kill_switch = engage_callback(client, desk.base)
    client.post(
        f"{desk.base}/logout", data={"csrf_token": csrf_token(client, desk.base, "/logout")}
    )

    page = stolen.get(f"{desk.base}/", allow_redirects=False)
    assert page.status_code == 302 and page.headers["location"].startswith("/login")
    export = stolen.get(f"{desk.base}/export/fill.csv", allow_redirects=False)
    assert export.status_code == 401 and "Sign in" in export.text
    values = {"kill-reason.value": "replayed", "kill-mode.value": "halt", "kill-engage.n_clicks": 1}
    engaged = call_registered(
        stolen, desk.base, kill_switch, values, changed=["kill-engage.n_clicks"]
    )
    assert engaged.status_code == 401
    with desk.db.reading() as session:
        assert session.exec(select(Command)).all() == []
        row = session.exec(select(DeskSession).join(User).where(User.username == "ned")).one()
    assert row.ended_at is not None and row.end_reason == "signed out"
    assert row.ip == "127.0.0.1" and row.user_agent.startswith("python-requests")


def open_sessions_shown(admin, base: str, username: str) -> int:
    cell = re.search(
        rf'"children":(\d+),"id":"users-sessions-{username}"', render(admin, base, "/users")
    )
    return int(cell.group(1))


def test_the_users_page_counts_each_users_open_sessions(desk, admin):
    make_user(desk.db, username="ola")
    first, _ = login(desk.base, "ola", PASSWORD)
    login(desk.base, "ola", PASSWORD)
    assert open_sessions_shown(admin, desk.base, "ola") == 2
    first.post(f"{desk.base}/logout", data={"csrf_token": csrf_token(first, desk.base, "/logout")})
    assert open_sessions_shown(admin, desk.base, "ola") == 1


def change_password(client, base, current, new, confirm=None):
    return click(
        client,
        base,
        "account-password-save",
        {
            "account-password-current.value": current,
            "account-password-new.value": new,
            "account-password-confirm.value": confirm if confirm is not None else new,
        },
    )


def test_a_password_change_ends_the_other_sessions_only(desk):
    make_user(desk.db, username="abe")
    here, _ = login(desk.base, "abe", PASSWORD)
    elsewhere, _ = login(desk.base, "abe", PASSWORD)
    response = change_password(here, desk.base, PASSWORD, NEW_PASSWORD)
    assert "Password changed" in response.text
    assert signed_in(here, desk.base)
    assert not signed_in(elsewhere, desk.base)
    assert password_step(desk.base, "abe", PASSWORD)[1].status_code == 401
    accepted = password_step(desk.base, "abe", NEW_PASSWORD)[1]
    assert accepted.headers["location"] == "/login/2fa"


@pytest.mark.parametrize(
    ("name", "current", "new", "confirm", "message"),
    [
        ("bea1", "wrong password!", NEW_PASSWORD, NEW_PASSWORD, "Wrong current password."),
        ("bea2", PASSWORD, "short", "short", "The new password must be at least 12 characters"),
        ("bea3", PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "repetition differ"),
        ("bea4", PASSWORD, PASSWORD, PASSWORD, "must differ from the current one"),
        ("bea5", "", NEW_PASSWORD, NEW_PASSWORD, "Fill in all three fields"),
    ],
)
def test_a_refused_password_change_changes_nothing(desk, name, current, new, confirm, message):
    make_user(desk.db, username=name)
    client, _ = login(desk.base, name, PASSWORD)
    response = change_password(client, desk.base, current, new, confirm)
    assert message in response.text
    assert signed_in(client, desk.base)
    _, again = login(desk.base, name, PASSWORD)
    assert again.headers["location"] == "/"


def test_an_admin_ends_a_users_sessions(desk, admin):
    make_user(desk.db, username="cal")
    client, _ = login(desk.base, "cal", PASSWORD)
    response = click(admin, desk.base, "users-revoke", {"users-target.value": "cal"})
    assert "Done: sign out cal" in response.text
    assert not signed_in(client, desk.base)
    again, _ = login(desk.base, "cal", PASSWORD)
    assert signed_in(again, desk.base)


def test_a_role_change_ends_the_sessions_at_once(desk, admin):
    make_user(desk.db, username="dee", role="trader")
    client, _ = login(desk.base, "dee", PASSWORD)
    response = click(
        admin,
        desk.base,
        "users-set-role",
        {"users-target.value": "dee", "users-role.value": "viewer"},
    )
    assert "dee is now viewer" in response.text
    assert not signed_in(client, desk.base)


def test_the_cookie_is_sent_again_only_when_the_idle_clock_moves(desk):
    """Signing the cookie on every answer cost each request time under many users: pages
    in a row within SEEN_COOKIE_SECONDS send none; activity after that sends a new one."""
    make_user(desk.db, username="cookie-quiet")
    client, _ = login(desk.base, "cookie-quiet", PASSWORD)
    for path in ("/", "/_dash-layout", "/bots"):
        assert "Set-Cookie" not in client.get(f"{desk.base}{path}").headers
    age_session(client, seen_at=SEEN_COOKIE_SECONDS + 1)
    answer = client.get(f"{desk.base}/_dash-layout")
    assert answer.status_code == 200 and "botdesk_session=" in answer.headers["Set-Cookie"]
    assert time.time() - read_session(client)["seen_at"] < SEEN_COOKIE_SECONDS
