"""`botdesk init` prints the first admin's TOTP enrolment; the first sign-in completes it.
`botdesk user unlock` and `botdesk user reset-2fa`."""

import re

import pytest
from sqlmodel import select

from botdesk.app import twofactor
from botdesk.db import lockout
from botdesk.db.models import AuditLog, User
from botdesk.db.session import Database
from botdesk.settings import Settings
from tests.conftest import make_env
from tests.desk import fresh_code, login, password_step, submit_code
from tests.factories import PASSWORD, make_user
from tests.processes import run_cli, start_web

pytestmark = pytest.mark.integration

URI = re.compile(r"otpauth://totp/botdesk:admin\?secret=([A-Z2-7]+)&issuer=botdesk")


def test_init_prints_the_enrolment_that_the_first_sign_in_completes(fresh_env, tmp_path):
    first = run_cli(["init", "--no-demo"], fresh_env)
    assert first.returncode == 0, first.stderr
    password = first.stdout.split("password: ")[1].split()[0]
    secret = URI.search(first.stdout).group(1)
    assert "█" in first.stdout  # the QR code, for the terminal
    again = run_cli(["init", "--no-demo"], fresh_env)
    assert "otpauth://" not in again.stdout

    db = Database(fresh_env["BOTDESK_DATABASE_URL"])
    with db.reading() as session:
        admin = session.exec(select(User)).one()
    generated_key = (tmp_path / "var" / "data_key").read_text().strip()
    assert not admin.totp_enabled  # pending until a code proves it
    assert secret not in admin.totp_secret_encrypted
    assert twofactor.secret_of(admin, Settings(DATA_KEY=generated_key)) == secret

    web, base = start_web(fresh_env, tmp_path / "web.log")
    try:
        client, response = password_step(base, "admin", password)
        assert response.headers["location"] == "/login/enrol"
        page = client.get(f"{base}/login/enrol").text
        assert f"secret={secret}" in page  # the same secret init printed
        done = submit_code(client, base, "/login/enrol", fresh_code(secret))
        assert done.status_code == 200 and "backup-codes" in done.text
        assert client.get(f"{base}/_dash-layout").status_code == 200
    finally:
        web.stop()
    with db.reading() as session:
        assert session.exec(select(User)).one().totp_enabled
    db.dispose()


def test_unlock_and_reset_2fa(sqlite_url, tmp_path):
    """SQLite only: the changes are the db functions tested on both databases."""
    env = make_env(sqlite_url, tmp_path)
    db = Database(sqlite_url)
    make_user(db, username="lou", failed_attempts=2)
    with db.writing() as session:
        user = session.exec(select(User).where(User.username == "lou")).one()
        for _ in range(3):
            lockout.record_failure(session=session, user=user)
    web, base = start_web(env, tmp_path / "web.log")
    try:
        assert password_step(base, "lou", PASSWORD)[1].status_code == 401  # locked
        unlocked = run_cli(["user", "unlock", "lou"], env)
        assert (unlocked.returncode, unlocked.stdout.strip()) == (0, "lou unlocked")
        client, response = login(base, "lou", PASSWORD)
        assert response.headers["location"] == "/"

        reset = run_cli(["user", "reset-2fa", "lou"], env)
        assert reset.returncode == 0, reset.stderr
        assert "set it up again at their next sign-in" in reset.stdout
        assert client.get(f"{base}/_dash-layout").status_code == 401  # sessions ended
        assert password_step(base, "lou", PASSWORD)[1].headers["location"] == "/login/enrol"
    finally:
        web.stop()
    with db.reading() as session:
        user = session.exec(select(User).where(User.username == "lou")).one()
        trail = [(r.action, r.target) for r in session.exec(select(AuditLog).order_by(AuditLog.id))]
    assert (user.totp_enabled, user.totp_secret_encrypted) == (False, None)
    assert ("user.unlock", "user:lou") in trail and ("2fa.reset", "user:lou") in trail
    missing = run_cli(["user", "unlock", "ghost"], env)
    assert missing.returncode == 1 and "no user named 'ghost'" in missing.stderr
    db.dispose()
