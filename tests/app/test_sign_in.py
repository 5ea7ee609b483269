"""Sign-in on a real desk: password, then the second factor (TOTP or backup code), or
enrolment for a user without 2FA; replays refused; CSRF on every form; argon2 rehash."""

import re
import time

import pyotp
import pytest
import requests
from argon2 import PasswordHasher
from sqlmodel import col, select

from botdesk.app import twofactor
from botdesk.app.passwords import needs_rehash, verify_password
from botdesk.app.twofactor import STEP_SECONDS, current_step
from botdesk.db.models import BackupCode, User
from tests.desk import (
    CSRF,
    fresh_code,
    login,
    password_step,
    read_session,
    shell_poll,
    submit_code,
    write_session,
)
from tests.factories import PASSWORD, TOTP_SECRETS, make_user
from tests.rows import audit_trail, user_named

pytestmark = pytest.mark.integration

TICK = [{"id": "shell-tick", "property": "n_intervals", "value": 1}]


def test_a_password_alone_opens_nothing_but_the_code_step(desk):
    make_user(desk.db, username="amy")
    client, response = password_step(desk.base, "amy", PASSWORD)
    assert (response.status_code, response.headers["location"]) == (302, "/login/2fa")
    for path in ("/", "/users", "/account"):
        page = client.get(desk.base + path, allow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (302, "/login/2fa")
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401
    assert shell_poll(client, desk.base, TICK).status_code == 401
    assert 'id="code-submit"' in client.get(f"{desk.base}/login/2fa").text

    signed_in = submit_code(client, desk.base, "/login/2fa", fresh_code(TOTP_SECRETS["amy"]))
    assert (signed_in.status_code, signed_in.headers["location"]) == (302, "/")
    assert client.get(f"{desk.base}/_dash-layout").status_code == 200
    assert [(row.action, row.details) for row in audit_trail(desk.db, "amy")] == [
        ("login.ok", '{"second_factor": "authenticator code"}')
    ]


def test_a_code_from_a_step_already_used_is_refused(desk):
    make_user(desk.db, username="ben")
    secret = TOTP_SECRETS["ben"]
    code = fresh_code(secret)
    first, _ = password_step(desk.base, "ben", PASSWORD)
    assert submit_code(first, desk.base, "/login/2fa", code).status_code == 302

    second, _ = password_step(desk.base, "ben", PASSWORD)
    replay = submit_code(second, desk.base, "/login/2fa", code)
    assert replay.status_code == 401
    assert "already used" in replay.text
    used_step = user_named(desk.db, "ben").totp_last_step
    older = pyotp.TOTP(secret).at((used_step - 1) * STEP_SECONDS)
    assert submit_code(second, desk.base, "/login/2fa", older).status_code == 401
    assert second.get(f"{desk.base}/_dash-layout").status_code == 401
    assert user_named(desk.db, "ben").failed_attempts == 2
    failures = [row.reason for row in audit_trail(desk.db, "ben") if row.action == "login.failed"]
    # The older step is refused as used, or as too old when the clock has moved on since
    # (test_twofactor.py pins the in-window case down without a clock).
    assert failures[0] == "authenticator code already used"
    assert failures[1] in ("authenticator code already used", "wrong authenticator code")

    fresh = submit_code(second, desk.base, "/login/2fa", fresh_code(secret))
    assert fresh.status_code == 302
    assert user_named(desk.db, "ben").failed_attempts == 0  # a full sign-in resets the count


def test_wrong_codes_are_refused_and_counted(desk):
    make_user(desk.db, username="cat")
    client, _ = password_step(desk.base, "cat", PASSWORD)
    for wrong in ("000000", "12345", "not a code", "abcde-fghjk"):
        response = submit_code(client, desk.base, "/login/2fa", wrong)
        assert response.status_code == 401, wrong
        assert "Wrong code" in response.text
    assert user_named(desk.db, "cat").failed_attempts == 4
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401


def test_backup_codes_sign_in_once_each(desk):
    user = make_user(desk.db, username="dan")
    with desk.db.writing() as session:
        codes = twofactor.new_backup_codes(session=session, user=session.get(User, user.id))
    client, _ = password_step(desk.base, "dan", PASSWORD)
    spoken = codes[3].upper().replace("-", " ")  # read aloud or retyped: still the same code
    assert submit_code(client, desk.base, "/login/2fa", spoken).status_code == 302
    again, _ = password_step(desk.base, "dan", PASSWORD)
    assert submit_code(again, desk.base, "/login/2fa", codes[3]).status_code == 401
    assert submit_code(again, desk.base, "/login/2fa", codes[4]).status_code == 302
    with desk.db.reading() as session:
        used = session.exec(select(BackupCode).where(col(BackupCode.used_at).is_not(None))).all()
    assert len(used) == 2
    oks = [row.details for row in audit_trail(desk.db, "dan") if row.action == "login.ok"]
    assert oks == ['{"second_factor": "backup code"}'] * 2


def test_the_pending_sign_in_ends_after_5_minutes(desk):
    make_user(desk.db, username="eve")
    client, _ = password_step(desk.base, "eve", PASSWORD)
    pending = read_session(client)
    pending["pending"]["at"] = time.time() - 301  # as if the password was 5 minutes ago
    write_session(client, pending)
    page = client.get(f"{desk.base}/login/2fa")  # sent back to the password, saying why
    assert page.url.endswith("/login")
    assert "longer than 5 minutes" in page.text
    token = CSRF.search(page.text).group(1)
    late = client.post(
        f"{desk.base}/login/2fa",
        data={"csrf_token": token, "code": fresh_code(TOTP_SECRETS["eve"])},
        allow_redirects=False,
    )
    assert (late.status_code, late.headers["location"]) == (302, "/login")
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401
    assert user_named(desk.db, "eve").totp_last_step is None


def test_a_user_without_2fa_enrols_before_any_page(desk):
    make_user(desk.db, username="fay", totp=False)
    client, response = password_step(desk.base, "fay", PASSWORD)
    assert response.headers["location"] == "/login/enrol"
    home = client.get(f"{desk.base}/", allow_redirects=True)
    assert home.url.endswith("/login/enrol")
    assert 'src="data:image/svg+xml' in home.text  # the QR code
    secret = re.search(r'id="enrol-secret">([A-Z2-7 ]+)<', home.text).group(1).replace(" ", "")
    assert f"secret={secret}" in home.text  # the otpauth URI the QR code carries
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401

    wrong = submit_code(client, desk.base, "/login/enrol", "000000")
    assert wrong.status_code == 401
    assert not user_named(desk.db, "fay").totp_enabled

    done = submit_code(client, desk.base, "/login/enrol", fresh_code(secret))
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert len(set(codes)) == 10
    assert client.get(f"{desk.base}/_dash-layout").status_code == 200
    row = user_named(desk.db, "fay")
    assert row.totp_enabled and secret not in row.totp_secret_encrypted
    with desk.db.reading() as session:
        hashes = session.exec(select(BackupCode.code_hash).where(BackupCode.user_id == row.id))
        hashes = list(hashes)
    assert len(hashes) == 10
    assert all(hashed.startswith("$argon2id$") for hashed in hashes)
    assert sum(verify_password(hashed, codes[0].replace("-", "")) for hashed in hashes) == 1
    actions = [row.action for row in audit_trail(desk.db, "fay")]
    assert actions == ["login.failed", "2fa.enrol", "login.ok"]

    TOTP_SECRETS["fay"] = secret
    _, again = login(desk.base, "fay", PASSWORD)  # from now on: the code step
    assert again.headers["location"] == "/"


def test_the_password_form_needs_its_csrf_token(desk):
    make_user(desk.db, username="gil")
    client = requests.Session()
    response = client.post(
        f"{desk.base}/login", data={"username": "gil", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status_code == 400
    assert "form expired or was not sent by this page" in response.text
    assert (
        client.get(f"{desk.base}/login/2fa", allow_redirects=False)
        .headers["location"]
        .startswith("/login")
    )
    assert audit_trail(desk.db, "gil") == []


@pytest.mark.parametrize(("path", "with_2fa"), [("/login/2fa", True), ("/login/enrol", False)])
def test_the_code_forms_need_their_csrf_token(desk, path, with_2fa):
    username = "kim" if with_2fa else "lou"
    make_user(desk.db, username=username, totp=with_2fa)
    client, _ = password_step(desk.base, username, PASSWORD)
    page = client.get(desk.base + path).text
    secret = TOTP_SECRETS.get(username) if with_2fa else None
    if secret is None:
        secret = re.search(r'id="enrol-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    response = client.post(
        desk.base + path, data={"code": fresh_code(secret)}, allow_redirects=False
    )
    assert response.status_code == 400
    assert "form expired or was not sent by this page" in response.text
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401
    row = user_named(desk.db, username)
    assert (row.totp_enabled, row.totp_last_step, row.last_login_at) == (with_2fa, None, None)


def test_a_cross_site_callback_post_is_refused(desk):
    make_user(desk.db, username="hal", role="admin")
    client, _ = login(desk.base, "hal", PASSWORD)
    client.headers["Origin"] = "https://evil.example"
    assert shell_poll(client, desk.base, TICK).status_code == 403
    client.headers["Origin"] = desk.base
    assert shell_poll(client, desk.base, TICK).status_code == 200


def test_an_old_argon2_hash_is_replaced_at_sign_in(desk):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert needs_rehash(weak)
    make_user(desk.db, username="ivy", password_hash=weak)
    _, response = login(desk.base, "ivy", PASSWORD)
    assert response.headers["location"] == "/"
    stored = user_named(desk.db, "ivy").password_hash
    assert stored != weak and stored.startswith("$argon2id$")
    assert not needs_rehash(stored)
    assert verify_password(stored, PASSWORD)


def test_the_next_step_is_accepted_for_clock_drift_but_no_further(desk):
    make_user(desk.db, username="joe")
    secret = TOTP_SECRETS["joe"]
    client, _ = password_step(desk.base, "joe", PASSWORD)
    far = pyotp.TOTP(secret).at((current_step() + 3) * STEP_SECONDS)
    assert submit_code(client, desk.base, "/login/2fa", far).status_code == 401
    ahead = pyotp.TOTP(secret).at((current_step() + 1) * STEP_SECONDS)
    assert submit_code(client, desk.base, "/login/2fa", ahead).status_code == 302
