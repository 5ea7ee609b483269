"""The account page on a real desk: replacing the authenticator, regenerating backup codes,
and turning two-factor off (refused while the desk requires it)."""

import re

import pytest

from botdesk.app import twofactor
from botdesk.db.models import User
from tests.desk import click, fresh_code, login, password_step, submit_code
from tests.factories import PASSWORD, TEST_SETTINGS, TOTP_SECRETS, make_user
from tests.rows import audit_trail, user_named

pytestmark = pytest.mark.integration

SHOWN_SECRET = re.compile(r'"children":"((?:[A-Z2-7]{4} ){7}[A-Z2-7]{4})"')
BACKUP = re.compile(r'"children":"([a-z2-9]{5}-[a-z2-9]{5})"')


def test_replacing_the_authenticator(desk):
    make_user(desk.db, username="ria")
    old_secret = TOTP_SECRETS["ria"]
    client, _ = login(desk.base, "ria", PASSWORD)
    assert "Start again" in click(client, desk.base, "account-2fa-confirm", {}).text

    started = click(client, desk.base, "account-2fa-start")
    new_secret = SHOWN_SECRET.search(started.text).group(1).replace(" ", "")
    assert started.json()["response"]["account-2fa-enrol-qr"]["children"][1]["props"][
        "src"
    ].startswith("data:image/svg+xml")  # the QR code
    assert twofactor.secret_of(user_named(desk.db, "ria"), TEST_SETTINGS) == old_secret

    values = {"account-2fa-enrol-code.value": fresh_code(old_secret)}  # the old app's code
    assert "Wrong code" in click(client, desk.base, "account-2fa-confirm", values).text
    values = {"account-2fa-enrol-code.value": fresh_code(new_secret)}
    confirmed = click(client, desk.base, "account-2fa-confirm", values)
    assert len(set(BACKUP.findall(confirmed.text))) == 10
    assert "10 of 10 backup codes left" in confirmed.text
    assert twofactor.secret_of(user_named(desk.db, "ria"), TEST_SETTINGS) == new_secret
    assert "2fa.replace" in [row.action for row in audit_trail(desk.db, "ria")]

    TOTP_SECRETS["ria"] = new_secret
    _, again = login(desk.base, "ria", PASSWORD)
    assert again.headers["location"] == "/"


def test_regenerating_backup_codes_needs_a_code_and_retires_the_old_ones(desk):
    user = make_user(desk.db, username="sol")
    with desk.db.writing() as session:
        old_codes = twofactor.new_backup_codes(session=session, user=session.get(User, user.id))
    client, _ = login(desk.base, "sol", PASSWORD)

    refused = click(client, desk.base, "account-2fa-regenerate", {"account-2fa-code.value": "1"})
    assert "Wrong code." in refused.text
    assert user_named(desk.db, "sol").failed_attempts == 1

    values = {"account-2fa-code.value": fresh_code(TOTP_SECRETS["sol"])}
    done = click(client, desk.base, "account-2fa-regenerate", values)
    new_codes = BACKUP.findall(done.text)
    assert len(set(new_codes)) == 10 and not set(new_codes) & set(old_codes)
    assert [row.action for row in audit_trail(desk.db, "sol")].count(
        "2fa.backup_codes"
    ) == 2  # refused, then done

    other, _ = password_step(desk.base, "sol", PASSWORD)
    assert submit_code(other, desk.base, "/login/2fa", old_codes[0]).status_code == 401
    assert submit_code(other, desk.base, "/login/2fa", new_codes[0]).status_code == 302


def test_two_factor_cannot_be_turned_off_while_the_desk_requires_it(desk):
    make_user(desk.db, username="tam")
    client, _ = login(desk.base, "tam", PASSWORD)
    values = {"account-2fa-code.value": fresh_code(TOTP_SECRETS["tam"])}
    response = click(client, desk.base, "account-2fa-disable", values)
    assert "requires two-factor sign-in, so it cannot be turned off" in response.text
    assert user_named(desk.db, "tam").totp_enabled
