"""Desk sessions on the server: started at sign-in, looked up on every request, ended by
sign-out, expiry or revocation. The cookie carries a random token; only its SHA-256 is
stored, so a copy of the database opens no session."""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, bindparam
from sqlmodel import Session, col, delete, func, or_, select, update

from botdesk.db.models import DeskSession, User
from botdesk.db.types import utcnow

# last_seen_at is written at most this often per session: the pages poll every few
# seconds and a write per poll would queue every request behind SQLite's write lock.
SEEN_RESOLUTION = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=90)  # rows of sessions over stay this long, then go


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(*, session: Session, user_id: int, ip: str | None, user_agent: str | None) -> str:
    """Open a session for the user; returns the token for the cookie (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        DeskSession(
            token_hash=_hash(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            ip=ip[:45] if ip else None,
            user_agent=user_agent[:255] if user_agent else None,
        )
    )
    # Rows of sessions long over: ended, or left open by a browser closed without signing
    # out and unseen since (long past any idle limit).
    long_ago = now - KEEP_ENDED
    session.exec(
        delete(DeskSession).where(
            or_(col(DeskSession.ended_at) < long_ago, DeskSession.last_seen_at < long_ago)
        )
    )
    return token


class OpenSession(NamedTuple):
    """What every request needs of its session and user, read as one row."""

    session_id: int
    last_seen_at: datetime
    user_id: int
    username: str
    role: str
    session_version: int
    totp_enabled: bool
    disabled: bool


_OPEN_SESSION = (
    select(
        DeskSession.id,
        DeskSession.last_seen_at,
        User.id,
        User.username,
        User.role,
        User.session_version,
        User.totp_enabled,
        User.disabled,
    )
    .join(User, col(User.id) == DeskSession.user_id)
    .where(DeskSession.token_hash == bindparam("token_hash"), col(DeskSession.ended_at).is_(None))
)


def open_session(*, connection: Connection, token: str) -> OpenSession | None:
    """The open session named by the token, with its user's fields; None when it ended or
    never was. A plain row on a plain connection: it runs on every request."""
    row = connection.execute(_OPEN_SESSION, {"token_hash": _hash(token)}).first()
    return OpenSession(*row) if row else None


def seen_due(last_seen_at: datetime, now: datetime | None = None) -> bool:
    return (now or utcnow()) - last_seen_at >= SEEN_RESOLUTION


def mark_seen(*, session: Session, session_id: int) -> None:
    session.exec(
        update(DeskSession).where(DeskSession.id == session_id).values(last_seen_at=utcnow())
    )


def end(*, session: Session, token: str, reason: str) -> None:
    """End one session (sign-out, idle, lifetime); a session already ended stays as it was."""
    session.exec(
        update(DeskSession)
        .where(DeskSession.token_hash == _hash(token), col(DeskSession.ended_at).is_(None))
        .values(ended_at=utcnow(), end_reason=reason[:64])
    )


def end_all(*, session: Session, user_id: int, reason: str, keep: int | None = None) -> int:
    """End every open session of the user but `keep` (the one asking); how many ended."""
    query = update(DeskSession).where(
        DeskSession.user_id == user_id, col(DeskSession.ended_at).is_(None)
    )
    if keep is not None:
        query = query.where(DeskSession.id != keep)
    result = session.exec(query.values(ended_at=utcnow(), end_reason=reason[:64]))
    return result.rowcount


def open_counts(*, session: Session, idle: timedelta, lifetime: timedelta) -> dict[int, int]:
    """How many live sessions each user has (the Users page): open, seen within `idle`
    (give or take SEEN_RESOLUTION) and started within `lifetime`. A browser closed without
    signing out leaves its row open until then."""
    now = utcnow()
    query = (
        select(DeskSession.user_id, func.count())
        .where(
            col(DeskSession.ended_at).is_(None),
            DeskSession.last_seen_at > now - idle - SEEN_RESOLUTION,
            DeskSession.created_at > now - lifetime,
        )
        .group_by(DeskSession.user_id)
    )
    return dict(session.exec(query).all())
