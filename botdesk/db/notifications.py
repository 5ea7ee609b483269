"""The notification outbox: `emit` writes an event in the caller's transaction, so it is
announced exactly when what it reports is committed, and never when that rolls back.

Delivery is the watchdog's sender (botdesk/alerts/sender.py): it fans each event out to
the channels that want it and sends outside any engine transaction. An event's
`dedupe_key` is unique; emitting a key again is a no-op (the watchdog restarted, the
day's summary already written).
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from botdesk.db.models import Notification, NotificationChannel, NotificationDelivery
from botdesk.db.notification_kinds import KINDS, SEVERITIES
from botdesk.db.types import utcnow
from botdesk.redaction import redact

DELIVERY_STATUSES = ("queued", "sending", "sent", "failed")
_INSERTS: dict[str, Any] = {}  # one statement per dialect, compiled once (see emit_many)


@dataclass(frozen=True)
class Event:
    """What to announce. Builders in `db.notification_events` make these."""

    kind: str
    severity: str
    title: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS and not self.kind.startswith("signal."):
            raise ValueError(f"unknown notification kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")


def _row(event: Event, at: datetime) -> dict[str, Any]:
    return {
        "at": at,
        "kind": event.kind,
        "severity": event.severity,
        "title": redact(event.title)[:500],
        "body": redact(event.body),
        "payload": json.dumps(event.payload, default=str, sort_keys=True),
        "dedupe_key": (event.dedupe_key or f"{event.kind}:{uuid.uuid4().hex}")[:200],
        "fanned_out": False,
    }


def emit_many(session: Session, events: Iterable[Event]) -> int:
    """Write the events in the caller's transaction; returns how many were new (an event
    whose dedupe_key is already there is skipped without disturbing the transaction).

    One fixed statement whatever the number of rows, its rows given as parameters
    (SQLAlchemy's "insertmanyvalues" sends them as multi-row INSERTs in pages): compiled
    once per process, not once per row count."""
    now = utcnow()
    rows = [_row(event, now) for event in events]
    if not rows:
        return 0
    statement = _insert_for(session.get_bind().dialect.name)
    return len(session.connection().execute(statement, rows).all())


def _insert_for(dialect: str):
    statement = _INSERTS.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _INSERTS[dialect] = (
            insert(Notification)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(Notification.id)
        )
    return statement


def emit(session: Session, event: Event) -> bool:
    """Write one event in the caller's transaction; False if its dedupe_key was there."""
    return emit_many(session, [event]) == 1


def latest(*, session: Session, kinds: Iterable[str]) -> Notification | None:
    return session.exec(
        select(Notification)
        .where(col(Notification.kind).in_(list(kinds)))
        .order_by(col(Notification.id).desc())
        .limit(1)
    ).first()


def exists(*, session: Session, dedupe_key: str) -> bool:
    return (
        session.exec(select(Notification.id).where(Notification.dedupe_key == dedupe_key)).first()
        is not None
    )


@dataclass(frozen=True)
class DeliveryLine:
    """One delivery as the Notifications page lists it."""

    id: int
    at: datetime
    kind: str
    severity: str
    title: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    dedupe_id: str


def recent_deliveries(
    *, session: Session, limit: int = 200, status: str | None = None
) -> list[DeliveryLine]:
    query = (
        select(NotificationDelivery, Notification, NotificationChannel.name)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .join(
            NotificationChannel,
            NotificationChannel.id == NotificationDelivery.channel_id,
            isouter=True,
        )
        .order_by(col(NotificationDelivery.id).desc())
        .limit(limit)
    )
    if status:
        query = query.where(NotificationDelivery.status == status)
    lines = []
    for delivery, notification, channel_name in session.exec(query):
        lines.append(
            DeliveryLine(
                id=delivery.id,
                at=notification.at,
                kind=notification.kind,
                severity=notification.severity,
                title=notification.title,
                channel=channel_name or f"webhook {delivery.webhook_id}",
                status=delivery.status,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at if delivery.status == "queued" else None,
                sent_at=delivery.sent_at,
                last_error=delivery.last_error,
                dedupe_id=delivery.dedupe_id,
            )
        )
    return lines


def counts_by_status(*, session: Session) -> dict[str, int]:
    """Deliveries per status (for /metrics and the page's header)."""
    rows = session.exec(
        select(NotificationDelivery.status, func.count()).group_by(NotificationDelivery.status)
    ).all()
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    counts.update({status: number for status, number in rows})
    return counts


def waiting_fan_out(*, session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(Notification).where(Notification.fanned_out == False)  # noqa: E712
    ).one()
