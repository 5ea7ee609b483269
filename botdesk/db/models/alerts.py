"""Alerts: notification channels, the notification outbox and its deliveries, subscribers'
signal webhooks, and the warning/error log lines both processes keep for the desk.

A `notification` row is written in the transaction of what it reports (the outbox); the
watchdog's sender fans it out to one `notification_delivery` per matching channel or
webhook and delivers each outside any engine transaction. A delivery's `dedupe_id` is
unique: the same event never gets a second delivery row for the same channel.
"""

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import text_column, time_column


class NotificationChannel(SQLModel, table=True):
    __tablename__ = "notification_channel"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    url_encrypted: str = Field(sa_type=Text)  # the Apprise URL, Fernet with the data key
    url_masked: str = Field(max_length=255)  # what the desk and the CLI show back
    events: str = Field(default="", sa_type=Text)  # comma-separated kinds; empty: every kind
    min_severity: str = Field(default="info", max_length=16)  # info | warning | critical
    enabled: bool = Field(default=True)
    created_by: str = Field(max_length=100)
    created_at: datetime = time_column(nullable=False)


class Notification(SQLModel, table=True):
    """One event to announce (the outbox). `dedupe_key` is unique: emitting the same event
    twice (the watchdog after a restart, a summary's day) writes it once."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_fanned_out", "fanned_out", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = time_column(nullable=False)
    kind: str = Field(max_length=40)
    severity: str = Field(default="info", max_length=16)
    title: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    payload: str = Field(default="{}", sa_type=Text)  # JSON, for webhooks and the desk
    dedupe_key: str = Field(max_length=200, unique=True)
    fanned_out: bool = Field(default=False)


class NotificationDelivery(SQLModel, table=True):
    """One notification to one channel (or one signal webhook): queued, sending, sent,
    failed. A `sending` row whose claim is older than the sender's lease was left by a
    sender that died: it is sent again, carrying the same `dedupe_id`."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("dedupe_id", name="uq_notification_delivery_dedupe"),
        Index("ix_notification_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", ondelete="CASCADE", index=True)
    channel_id: int | None = Field(
        default=None, foreign_key="notification_channel.id", ondelete="CASCADE"
    )
    webhook_id: int | None = Field(
        default=None, foreign_key="signal_webhook.id", ondelete="CASCADE"
    )
    dedupe_id: str = Field(max_length=220)  # "<notification id>-c<channel>" / "-w<webhook>"
    status: str = Field(default="queued", max_length=16)  # queued | sending | sent | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime = time_column(nullable=False)
    claimed_at: datetime | None = time_column()
    claimed_by: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = time_column()
    last_error: str | None = text_column()


class SignalWebhook(SQLModel, table=True):
    """A subscriber's URL for signals, registered with an API key; deliveries are signed
    with HMAC-SHA256 under `secret_encrypted` (shown once, at registration)."""

    __tablename__ = "signal_webhook"

    id: int | None = Field(default=None, primary_key=True)
    url_encrypted: str = Field(sa_type=Text)
    url_masked: str = Field(max_length=255)
    secret_encrypted: str = Field(sa_type=Text)
    events: str = Field(sa_type=Text)  # comma-separated: signal.created,signal.executed,...
    filters: str = Field(default="{}", sa_type=Text)  # JSON: symbols, strategies, min_confidence
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", ondelete="SET NULL")
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    created_by: str = Field(max_length=100)
    created_at: datetime = time_column(nullable=False)


class LogEntry(SQLModel, table=True):
    """A warning or error line of the engine, the desk or the watchdog (kept for
    BOTDESK_LOG_RETENTION_DAYS), shown on the Logs page whatever machine wrote it."""

    __tablename__ = "log_entry"
    __table_args__ = (Index("ix_log_entry_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = time_column(nullable=False)
    process: str = Field(max_length=16)  # engine | web | watchdog | cli
    level: str = Field(max_length=16)
    logger: str = Field(max_length=100)
    bot_id: int | None = Field(default=None, index=True)
    host: str | None = Field(default=None, max_length=255)
    message: str = Field(sa_type=Text)
