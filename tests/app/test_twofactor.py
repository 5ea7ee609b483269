"""TOTP codes and backup codes, in process: the time window, replays, formats."""

import pyotp
import pytest

from botdesk.app import twofactor
from botdesk.app.twofactor import STEP_SECONDS, CodeCheck, check_totp_secret

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # inside step 60_000_000
STEP = int(NOW // STEP_SECONDS)


def code_at(step: int) -> str:
    return pyotp.TOTP(SECRET).at(step * STEP_SECONDS)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_from_the_neighbouring_steps_are_accepted(offset):
    assert check_totp_secret(SECRET, code_at(STEP + offset), None, NOW) == (
        CodeCheck.OK,
        STEP + offset,
    )


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_further_away_are_wrong(offset):
    assert check_totp_secret(SECRET, code_at(STEP + offset), None, NOW) == (CodeCheck.WRONG, None)


def test_a_step_used_before_is_refused_even_when_still_in_the_window():
    assert check_totp_secret(SECRET, code_at(STEP), STEP, NOW)[0] is CodeCheck.REPLAYED
    assert check_totp_secret(SECRET, code_at(STEP - 1), STEP, NOW)[0] is CodeCheck.REPLAYED
    assert check_totp_secret(SECRET, code_at(STEP + 1), STEP, NOW) == (CodeCheck.OK, STEP + 1)


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_wrong(typed):
    assert check_totp_secret(SECRET, typed, None, NOW)[0] is CodeCheck.WRONG


def test_spaces_inside_a_code_are_ignored():
    spaced = code_at(STEP)[:3] + " " + code_at(STEP)[3:]
    assert check_totp_secret(SECRET, spaced, None, NOW)[0] is CodeCheck.OK


def test_what_the_authenticator_app_is_given():
    uri = twofactor.provisioning_uri(SECRET, "ann")
    assert uri == f"otpauth://totp/botdesk:ann?secret={SECRET}&issuer=botdesk"
    assert twofactor.readable_secret(SECRET).split() == [SECRET[i : i + 4] for i in range(0, 32, 4)]
    assert twofactor.qr_svg_data_uri(uri).startswith("data:image/svg+xml")
    assert len(twofactor.new_secret()) == 32


@pytest.mark.parametrize(
    ("typed", "backup"),
    [("abcde-fghjk", True), ("ABCDE FGHJK", True), ("123456", False), ("abcd-efgh", False)],
)
def test_backup_codes_are_told_apart_from_totp_codes(typed, backup):
    assert twofactor.looks_like_backup_code(typed) is backup
