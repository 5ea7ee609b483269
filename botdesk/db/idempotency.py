"""Idempotency keys: find a request's stored answer, claim a key, store the answer.

`claim` inserts the key's row in the caller's transaction, before the request's effect:
the unique (api key, key) makes a concurrent request with the same key wait on that
row (PostgreSQL: the index entry; SQLite: the one writer) until the first commits, and
then find the answer instead of acting twice. Answers are kept Fernet-encrypted (an
answer may hold a secret shown once, e.g. a new API key), for BOTDESK_IDEMPOTENCY_KEY_HOURS:
`prune` (the watchdog's hourly retention job) removes older keys, and a retry with one of
them is then a new request.
"""

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from botdesk import keys
from botdesk.db.models import IdempotencyKey
from botdesk.db.types import utcnow
from botdesk.settings import Settings

MAX_KEY = 255


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request a key was first used for: method, path and body (JSON compared by
    value, so spacing and key order do not make a different request)."""
    try:
        parsed = json.loads(body) if body.strip() else None
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", canonical):
        digest.update(part)
    return digest.hexdigest()


def find(*, session: Session, api_key_id: int, key: str) -> IdempotencyKey | None:
    query = select(IdempotencyKey).where(
        IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
    )
    return session.exec(query).first()


def claim(
    *, session: Session, api_key_id: int, key: str, fingerprint: str, method: str, path: str
) -> IdempotencyKey:
    """Insert the key's row (flushed: a concurrent twin now waits on it, or fails with an
    IntegrityError once this transaction commits)."""
    row = IdempotencyKey(
        api_key_id=api_key_id,
        key=key,
        fingerprint=fingerprint,
        method=method,
        path=path[:255],
        status=0,
        answer="",
    )
    session.add(row)
    session.flush()
    return row


def store(
    *,
    session: Session,
    row: IdempotencyKey,
    status: int,
    answer: str,
    location: str | None,
    settings: Settings,
) -> None:
    row.status = status
    row.answer = keys.encrypt(answer, settings)
    row.location = location
    session.add(row)


def answer_of(row: IdempotencyKey, settings: Settings) -> str:
    return keys.decrypt(row.answer, settings)


def prune(*, session: Session, keep_hours: float, now: datetime | None = None) -> int:
    """Remove the keys stored more than `keep_hours` ago; returns how many."""
    cutoff = (now or utcnow()) - timedelta(hours=keep_hours)
    removed = session.execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < cutoff)
    ).rowcount
    return removed or 0
