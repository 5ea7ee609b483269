"""TOTP two-factor (pyotp) and one-time backup codes: the desk's second factor.

TOTP secrets are stored Fernet-encrypted with the data key, backup codes only as argon2
hashes. A TOTP code is accepted from the previous, current or next 30-second step (clock
drift between phone and server), and only from a step later than the last one used, so a
code that was seen once cannot be used again.
"""

import io
import secrets
import time
from enum import StrEnum

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from botdesk.db.models import BackupCode, User
from botdesk.db.types import utcnow
from botdesk.keys import decrypt, encrypt
from botdesk.settings import Settings

ISSUER = "botdesk"
STEP_SECONDS = 30
BACKUP_CODE_COUNT = 10
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_BACKUP_LENGTH = 10  # ~49 bits each
# Random codes, not chosen by people: OWASP's minimum argon2id settings are ample, and keep
# checking a typed code against ten hashes quick.
_backup_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class CodeCheck(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    REPLAYED = "replayed"


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters, 160 bits


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """The QR code as an SVG data URI for an <img>: black on white, which every app reads."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=3, dark="#000", light="#fff")


def qr_terminal(uri: str) -> str:
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def readable_secret(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def store_secret(user: User, secret: str, settings: Settings | None = None) -> None:
    user.totp_secret_encrypted = encrypt(secret, settings)


def secret_of(user: User, settings: Settings | None = None) -> str | None:
    if not user.totp_secret_encrypted:
        return None
    return decrypt(user.totp_secret_encrypted, settings)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def check_totp_secret(
    secret: str, code: str, last_step: int | None, now: float | None = None
) -> tuple[CodeCheck, int | None]:
    """Is `code` valid for `secret` now, and from a step after `last_step`? Returns the step."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return CodeCheck.WRONG, None
    totp = pyotp.TOTP(secret)
    step_now = current_step(now)
    for step in (step_now - 1, step_now, step_now + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            if last_step is not None and step <= last_step:
                return CodeCheck.REPLAYED, None
            return CodeCheck.OK, step
    return CodeCheck.WRONG, None


def check_totp(user: User, code: str, settings: Settings | None = None) -> CodeCheck:
    """Check a code against the user's stored secret; remember its step when it is good.

    Call on a row locked for the transaction (users.lock_row), so two workers cannot both
    accept the same code.
    """
    secret = secret_of(user, settings)
    if secret is None:
        return CodeCheck.WRONG
    result, step = check_totp_secret(secret, code, user.totp_last_step)
    if result is CodeCheck.OK:
        user.totp_last_step = step
    return result


def looks_like_backup_code(code: str) -> bool:
    return len(_normal_backup(code)) == _BACKUP_LENGTH


def _normal_backup(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_backup_codes(*, session: Session, user: User) -> list[str]:
    """Replace the user's backup codes with 10 new ones; only their hashes are stored."""
    session.exec(delete(BackupCode).where(col(BackupCode.user_id) == user.id))
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(_BACKUP_LENGTH))
        session.add(BackupCode(user_id=user.id, code_hash=_backup_hasher.hash(raw)))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def use_backup_code(*, session: Session, user: User, code: str) -> bool:
    """Spend one unused backup code matching `code`; False when none matches."""
    raw = _normal_backup(code)
    if len(raw) != _BACKUP_LENGTH:
        return False
    unused = select(BackupCode).where(
        BackupCode.user_id == user.id, col(BackupCode.used_at).is_(None)
    )
    for row in session.exec(unused):
        try:
            _backup_hasher.verify(row.code_hash, raw)
        except (VerificationError, InvalidHashError):
            continue
        row.used_at = utcnow()
        session.add(row)
        return True
    return False


def backup_codes_left(*, session: Session, user_id: int) -> int:
    unused = select(BackupCode).where(
        BackupCode.user_id == user_id, col(BackupCode.used_at).is_(None)
    )
    return len(session.exec(unused).all())


def check_second_factor(
    *, session: Session, user: User, code: str, settings: Settings | None = None
) -> tuple[CodeCheck, str]:
    """A TOTP code or a backup code; returns the result and which kind was used."""
    if looks_like_backup_code(code):
        ok = use_backup_code(session=session, user=user, code=code)
        return (CodeCheck.OK if ok else CodeCheck.WRONG), "backup code"
    return check_totp(user, code, settings), "authenticator code"


def enable(*, session: Session, user: User, secret: str, step: int, settings=None) -> list[str]:
    """Turn 2FA on with a secret the user just proved (code at `step`); new backup codes."""
    store_secret(user, secret, settings)
    user.totp_enabled = True
    user.totp_last_step = step
    session.add(user)
    return new_backup_codes(session=session, user=user)
