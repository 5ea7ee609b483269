"""Alerts: notification channels, the notification outbox and its deliveries, signal
webhooks, kept log lines, the engine's counters for /metrics

Revision ID: alerts_1
Revises: research_1

- notification_channel: Apprise URLs (encrypted), the kinds and least severity each wants.
- notification: the outbox, one row per event, unique dedupe_key.
- notification_delivery: one per event and channel (or signal webhook), unique dedupe_id,
  with its status, attempts and next attempt.
- signal_webhook: subscribers' URLs (encrypted) and HMAC secrets (encrypted).
- log_entry: warning and error lines of every process.
- engine_instance.metrics: the engine's counters as JSON (plain ADD COLUMN).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "alerts_1"
down_revision: str | None = "research_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Time = botdesk.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "notification_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", String(length=100), nullable=False),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("url_masked", String(length=255), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("min_severity", String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", String(length=100), nullable=False),
        sa.Column("created_at", Time(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", Time(timezone=True), nullable=False),
        sa.Column("kind", String(length=40), nullable=False),
        sa.Column("severity", String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedupe_key", String(length=200), nullable=False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_notification_fanned_out", "notification", ["fanned_out", "id"])
    op.create_table(
        "signal_webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("url_masked", String(length=255), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_by", String(length=100), nullable=False),
        sa.Column("created_at", Time(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_id", String(length=220), nullable=False),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Time(timezone=True), nullable=False),
        sa.Column("claimed_at", Time(timezone=True), nullable=True),
        sa.Column("claimed_by", String(length=64), nullable=True),
        sa.Column("sent_at", Time(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["notification_channel.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["webhook_id"], ["signal_webhook.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_id", name="uq_notification_delivery_dedupe"),
    )
    op.create_index(
        "ix_notification_delivery_notification_id", "notification_delivery", ["notification_id"]
    )
    op.create_index(
        "ix_notification_delivery_due", "notification_delivery", ["status", "next_attempt_at"]
    )
    op.create_table(
        "log_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", Time(timezone=True), nullable=False),
        sa.Column("process", String(length=16), nullable=False),
        sa.Column("level", String(length=16), nullable=False),
        sa.Column("logger", String(length=100), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=True),
        sa.Column("host", String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_log_entry_at", "log_entry", ["at"])
    op.create_index("ix_log_entry_bot_id", "log_entry", ["bot_id"])
    op.add_column("engine_instance", sa.Column("metrics", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engine_instance") as batch:
        batch.drop_column("metrics")
    op.drop_table("log_entry")
    op.drop_table("notification_delivery")
    op.drop_table("signal_webhook")
    op.drop_table("notification")
    op.drop_table("notification_channel")
