"""Account lockout, kept in the database so every desk worker and machine sees the same count.

Wrong passwords and wrong codes share one counter: 5 in a row lock the account for 15
minutes. A success resets the count only when the whole sign-in succeeds, so knowing the
password does not buy fresh code guesses.
"""

from datetime import datetime, timedelta

from sqlmodel import Session

from botdesk.db.models import User
from botdesk.db.types import utcnow

MAX_FAILED_ATTEMPTS = 5
LOCKOUT_MINUTES = 15
LOCKOUT = timedelta(minutes=LOCKOUT_MINUTES)


def locked_until(user: User, now: datetime | None = None) -> datetime | None:
    """When the lock ends, or None when the account is not locked."""
    if user.locked_until is not None and user.locked_until > (now or utcnow()):
        return user.locked_until
    return None


def record_failure(*, session: Session, user: User, now: datetime | None = None) -> bool:
    """Count one wrong password or code; True when this one locked the account.

    Call it on a row locked for this transaction (users.lock_row), so two workers cannot
    both read 4 and write 5.
    """
    now = now or utcnow()
    user.failed_attempts += 1
    locked = user.failed_attempts >= MAX_FAILED_ATTEMPTS
    if locked:
        user.locked_until = now + LOCKOUT
        user.failed_attempts = 0  # after the lock ends, five more tries
    session.add(user)
    return locked


def clear_failures(*, session: Session, user: User) -> None:
    if user.failed_attempts or user.locked_until is not None:
        user.failed_attempts = 0
        user.locked_until = None
        session.add(user)


def unlock(*, session: Session, user: User) -> None:
    """An admin ends the lock now (desk users page, `botdesk user unlock`)."""
    clear_failures(session=session, user=user)


def locked_message(until: datetime) -> str:
    return (
        f"This account is locked after {MAX_FAILED_ATTEMPTS} wrong passwords or codes, until "
        f"{until:%H:%M} UTC. Try again then, or ask an admin to unlock it."
    )
