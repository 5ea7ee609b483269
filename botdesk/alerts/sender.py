"""The sender: turns the notification outbox into deliveries and sends them, outside any
engine transaction, with retries and exponential backoff.

One pass: (1) fan out new events, one delivery per channel (or signal webhook) that wants
it, unique per event and channel; (2) claim the due deliveries (status `sending`, with the
time and this sender's id) and commit; (3) send each; (4) record sent, or queued again
after a backoff, or failed after NOTIFY_MAX_ATTEMPTS tries.

Across a kill -9: an event is never lost (it is a committed row before anything is sent,
and a delivery left `sending` is claimed again after NOTIFY_CLAIM_SECONDS); a delivery is
never made twice by two senders (the claim is one transaction). The worst case a receiver
sees: the sender dies after the receiver took a message and before `sent` was committed;
that one message comes again, with the same event id (`botdesk event <id>` at the end of
the text, and the X-Botdesk-Event-Id header of JSON webhooks and signal webhooks).
"""

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from botdesk.alerts import delivery
from botdesk.db import notification_channels, signal_webhooks
from botdesk.db.models import (
    Notification,
    NotificationChannel,
    NotificationDelivery,
    SignalWebhook,
)
from botdesk.db.session import Database
from botdesk.db.types import utcnow
from botdesk.keys import decrypt
from botdesk.settings import Settings

log = logging.getLogger(__name__)

FAN_OUT_BATCH = 500
CLAIM_BATCH = 50


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    dedupe_id: str
    attempts: int
    kind: str
    severity: str
    title: str
    body: str
    payload: dict
    channel: NotificationChannel | None
    webhook: SignalWebhook | None


def sender_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def fan_out(session: Session) -> int:
    """Deliveries for events not yet fanned out; returns how many deliveries were made."""
    query = (
        select(Notification)
        .where(Notification.fanned_out == False)  # noqa: E712
        .order_by(col(Notification.id))
        .limit(FAN_OUT_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = list(session.exec(query))
    if not events:
        return 0
    channels = [c for c in notification_channels.all_channels(session=session) if c.enabled]
    webhooks = None
    rows = []
    now = utcnow()
    for event in events:
        if event.kind.startswith("signal."):
            if webhooks is None:
                webhooks = signal_webhooks.all_webhooks(session=session)
            payload = json.loads(event.payload)
            targets = [
                ("webhook_id", hook.id, f"w{hook.id}")
                for hook in webhooks
                if signal_webhooks.matches(hook, event.kind, payload)
            ]
        elif event.kind == "test":
            wanted = json.loads(event.payload).get("channel")
            targets = [("channel_id", c.id, f"c{c.id}") for c in channels if c.name == wanted]
        else:
            targets = [
                ("channel_id", c.id, f"c{c.id}")
                for c in channels
                if notification_channels.wants(c, event.kind, event.severity)
            ]
        for column, target_id, suffix in targets:
            rows.append(
                {
                    "notification_id": event.id,
                    column: target_id,
                    "dedupe_id": f"{event.id}-{suffix}",
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
            )
        event.fanned_out = True
        session.add(event)
    if rows:
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        for row in rows:
            row.setdefault("channel_id", None)
            row.setdefault("webhook_id", None)
        session.connection().execute(
            insert(NotificationDelivery).on_conflict_do_nothing(index_elements=["dedupe_id"]),
            rows,
        )
    return len(rows)


def claim(
    session: Session, *, owner: str, claim_seconds: float, delivery_ids: list[int] | None = None
) -> list[Claimed]:
    """Take the due deliveries (or the given ones) for sending; commit before sending."""
    now = utcnow()
    abandoned = now - timedelta(seconds=claim_seconds)
    due = or_(
        (NotificationDelivery.status == "queued") & (NotificationDelivery.next_attempt_at <= now),
        (NotificationDelivery.status == "sending")
        & (col(NotificationDelivery.claimed_at) < abandoned),
    )
    query = select(NotificationDelivery).where(due)
    if delivery_ids is not None:
        query = query.where(col(NotificationDelivery.id).in_(delivery_ids))
    query = query.order_by(col(NotificationDelivery.id)).limit(CLAIM_BATCH)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken = list(session.exec(query))
    claimed = []
    for row in taken:
        if row.status == "sending":
            log.warning(
                "delivery %s left sending by %s: sending again", row.dedupe_id, row.claimed_by
            )
        row.status = "sending"
        row.claimed_at = now
        row.claimed_by = owner
        row.attempts += 1
        session.add(row)
        event = session.get(Notification, row.notification_id)
        claimed.append(
            Claimed(
                delivery_id=row.id,
                dedupe_id=row.dedupe_id,
                attempts=row.attempts,
                kind=event.kind,
                severity=event.severity,
                title=event.title,
                body=event.body,
                payload=json.loads(event.payload),
                channel=session.get(NotificationChannel, row.channel_id)
                if row.channel_id
                else None,
                webhook=session.get(SignalWebhook, row.webhook_id) if row.webhook_id else None,
            )
        )
    return claimed


def send(item: Claimed, settings: Settings) -> delivery.Outcome:
    try:
        if item.channel is not None:
            return delivery.send_to_channel(
                url=notification_channels.url_of(item.channel, settings),
                title=f"[botdesk] {item.title}",
                body=item.body,
                severity=item.severity,
                dedupe_id=item.dedupe_id,
            )
        if item.webhook is not None:
            return delivery.send_to_webhook(
                url=decrypt(item.webhook.url_encrypted, settings),
                secret=decrypt(item.webhook.secret_encrypted, settings),
                payload={"event": item.kind, "id": item.dedupe_id, "data": item.payload},
                dedupe_id=item.dedupe_id,
            )
        return delivery.Outcome(False, "the channel was removed")
    except Exception as error:  # a plugin bug or a bad key: a failed try, never a dead sender
        log.exception("delivery %s raised", item.dedupe_id)
        return delivery.Outcome(False, f"{type(error).__name__}: {error}"[:500])


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """Seconds before try number attempts+1: base, 2 x base, 4 x base, ... up to the cap."""
    return min(
        settings.NOTIFY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0),
        settings.NOTIFY_BACKOFF_MAX_SECONDS,
    )


def record(session: Session, item: Claimed, outcome: delivery.Outcome, settings: Settings, owner):
    now = utcnow()
    values: dict = {"claimed_at": None, "claimed_by": None}
    if outcome.ok:
        values.update(status="sent", sent_at=now, last_error=None)
    elif (
        item.attempts >= settings.NOTIFY_MAX_ATTEMPTS or outcome.error == "the channel was removed"
    ):
        values.update(status="failed", last_error=outcome.error)
        log.error(
            "delivery %s failed after %s tries: %s", item.dedupe_id, item.attempts, outcome.error
        )
    else:
        wait = backoff_seconds(item.attempts, settings)
        values.update(
            status="queued", last_error=outcome.error, next_attempt_at=now + timedelta(seconds=wait)
        )
        log.warning(
            "delivery %s try %s failed (%s); next try in %.0f s",
            item.dedupe_id,
            item.attempts,
            outcome.error,
            wait,
        )
    # Only while this sender still holds the claim: if it was too slow and another sender
    # took the delivery over, that sender records the outcome.
    session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.id == item.delivery_id,
            NotificationDelivery.claimed_by == owner,
            NotificationDelivery.status == "sending",
        )
        .values(**values)
    )


class Sender:
    """The sender job of the watchdog process (and of `botdesk notify test`)."""

    def __init__(self, db: Database, settings: Settings, owner: str | None = None):
        self.db = db
        self.settings = settings
        self.owner = owner or sender_id()
        delivery.use_telegram_server(settings.TELEGRAM_API_URL)

    def run_once(self, delivery_ids: list[int] | None = None) -> int:
        """One pass; returns how many deliveries were tried."""
        if delivery_ids is None:
            with self.db.writing() as session:
                fan_out(session)
        with self.db.writing() as session:
            claimed = claim(
                session,
                owner=self.owner,
                claim_seconds=self.settings.NOTIFY_CLAIM_SECONDS,
                delivery_ids=delivery_ids,
            )
        for item in claimed:
            outcome = send(item, self.settings)
            with self.db.writing() as session:
                record(session, item, outcome, self.settings, self.owner)
        return len(claimed)

    def drain(self) -> int:
        """Passes until nothing is due (each pass sends at most CLAIM_BATCH)."""
        total = 0
        while tried := self.run_once():
            total += tried
        return total
