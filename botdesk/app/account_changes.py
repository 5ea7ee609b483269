"""Changes a signed-in user makes to their own account: password, authenticator, backup
codes. Each is audited; wrong passwords and codes count toward the lockout like at sign-in.

The authenticator being set up is kept, encrypted, in the session cookie until a code
proves it, so the current one keeps working until then.
"""

from flask import session
from flask_login import current_user

from botdesk.app import acting, twofactor
from botdesk.app.auth import count_failure
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.passwords import WeakPassword, check_strength, hash_password, verify_password
from botdesk.app.twofactor import CodeCheck
from botdesk.db import users
from botdesk.db.models import User
from botdesk.keys import decrypt, encrypt

CANDIDATE = "new_totp"  # session key of the authenticator being set up (encrypted)
LOCKED_NOW = " Too many wrong attempts: your account is locked for 15 minutes."


class AccountError(ValueError):
    """A change to your account that cannot be made as asked; the message says why."""


def change_password(current: str, new: str, confirm: str) -> None:
    """Change the current user's password and sign out their other sessions."""
    if not (current and new and confirm):
        raise AccountError("Fill in all three fields.")
    if new != confirm:
        raise AccountError("The new password and its repetition differ.")
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    try:
        check_strength(new)
    except WeakPassword as error:
        raise AccountError(f"The new {error}.") from None
    refusal = None
    with desk_db().writing() as db_session:  # the failure count must commit: no raise inside
        user = users.lock_row(session=db_session, user_id=current_user.id)
        target = f"user:{user.username}"
        if verify_password(user.password_hash, current):
            users.set_password_hash(
                session=db_session,
                user=user,
                password_hash=hash_password(new),
                keep=current_user.session_id,
            )
            acting.record(db_session, "account.password_change", target=target)
        else:
            acting.record(
                db_session,
                "account.password_change",
                target=target,
                outcome="refused",
                reason="wrong current password",
            )
            refusal = "Wrong current password."
            if count_failure(db_session, user):
                refusal += LOCKED_NOW
    if refusal:
        raise AccountError(refusal)


def start_new_authenticator() -> str:
    """A new secret to scan; it replaces nothing until confirmed with a code."""
    secret = twofactor.new_secret()
    session[CANDIDATE] = encrypt(secret, desk_settings())
    return secret


def confirm_new_authenticator(code: str) -> list[str]:
    """Turn 2FA on with the authenticator being set up; returns the new backup codes."""
    stored = session.get(CANDIDATE)
    if not stored:
        raise AccountError("Start again: press 'Set up a new authenticator'.")
    secret = decrypt(stored, desk_settings())
    result, step = twofactor.check_totp_secret(secret, code, None)
    if result is not CodeCheck.OK:
        raise AccountError("Wrong code: check that you read botdesk's newest entry in the app.")
    with desk_db().writing() as db_session:
        user = users.lock_row(session=db_session, user_id=current_user.id)
        action = "2fa.replace" if user.totp_enabled else "2fa.enrol"
        codes = twofactor.enable(
            session=db_session, user=user, secret=secret, step=step, settings=desk_settings()
        )
        acting.record(db_session, action, target=f"user:{user.username}")
    session.pop(CANDIDATE, None)
    return codes


def _refusal(db_session, user: User, code: str, action: str) -> str | None:
    """Check the code confirming a 2FA change: None when good, else why (counted, audited)."""
    if not user.totp_enabled:
        return "Two-factor is not set up: use 'Set up a new authenticator'."
    result, kind = twofactor.check_second_factor(
        session=db_session, user=user, code=code, settings=desk_settings()
    )
    if result is CodeCheck.OK:
        return None
    acting.record(
        db_session,
        action,
        target=f"user:{user.username}",
        outcome="refused",
        reason=f"{kind}: {result.value}",
    )
    if count_failure(db_session, user):
        return "Wrong code." + LOCKED_NOW
    if result is CodeCheck.REPLAYED:
        return "That code was already used. Wait for the next one in your app."
    return "Wrong code."


def regenerate_backup_codes(code: str) -> list[str]:
    with desk_db().writing() as db_session:
        user = users.lock_row(session=db_session, user_id=current_user.id)
        refusal = _refusal(db_session, user, code, "2fa.backup_codes")
        if refusal is None:
            codes = twofactor.new_backup_codes(session=db_session, user=user)
            acting.record(db_session, "2fa.backup_codes", target=f"user:{user.username}")
    if refusal:
        raise AccountError(refusal)
    return codes


def turn_off(code: str) -> None:
    if desk_settings().REQUIRE_2FA:
        raise AccountError(
            "This desk requires two-factor sign-in, so it cannot be turned off. "
            "New phone? Use 'Set up a new authenticator'."
        )
    with desk_db().writing() as db_session:
        user = users.lock_row(session=db_session, user_id=current_user.id)
        refusal = _refusal(db_session, user, code, "2fa.disable")
        if refusal is None:
            users.clear_two_factor(session=db_session, user=user)
            acting.record(db_session, "2fa.disable", target=f"user:{user.username}")
    if refusal:
        raise AccountError(refusal)
