"""The Test button and `botdesk notify test NAME`: one message to one channel, sent now
by the caller (not left for the watchdog), recorded as a delivery like any other."""

from dataclasses import dataclass

from sqlmodel import select

from botdesk.alerts.sender import Sender
from botdesk.db import audit, notification_channels, notification_events, notifications
from botdesk.db.models import Notification, NotificationDelivery
from botdesk.db.notification_channels import ChannelError
from botdesk.db.session import Database
from botdesk.db.types import utcnow
from botdesk.settings import Settings


@dataclass(frozen=True)
class TestResult:
    ok: bool
    error: str | None
    dedupe_id: str


def send_test(
    db: Database,
    settings: Settings,
    *,
    name: str,
    by: str,
    ip: str | None = None,
    user_id: int | None = None,
) -> TestResult:
    with db.writing() as session:
        channel = notification_channels.by_name(session=session, name=name)
        if channel is None:
            raise ChannelError(f"no channel named {name!r}")
        event = notification_events.test_message(channel=name, by=by, at=utcnow())
        notifications.emit(session, event)
        notification = session.exec(
            select(Notification).where(Notification.dedupe_key == event.dedupe_key)
        ).one()
        notification.fanned_out = True  # this one goes to this channel only
        session.add(notification)
        delivery = NotificationDelivery(
            notification_id=notification.id,
            channel_id=channel.id,
            dedupe_id=f"{notification.id}-c{channel.id}",
        )
        session.add(delivery)
        audit.record(
            session=session,
            actor=by,
            action="notify.channel.test",
            target=f"channel:{name}",
            ip=ip,
            user_id=user_id,
        )
        session.flush()
        delivery_id = delivery.id
    Sender(db, settings).run_once(delivery_ids=[delivery_id])
    with db.reading() as session:
        delivery = session.get(NotificationDelivery, delivery_id)
    return TestResult(delivery.status == "sent", delivery.last_error, delivery.dedupe_id)
