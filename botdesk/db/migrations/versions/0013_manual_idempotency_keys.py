"""Manual trading: the REST API's idempotency keys

Revision ID: manual_1
Revises: alerts_1

- idempotency_key: per API key, each `Idempotency-Key` a client sent with a state-changing
  request, the fingerprint of that request and its answer (encrypted), unique per key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "manual_1"
down_revision: str | None = "limits_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Time = botdesk.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", String(length=255), nullable=False),
        sa.Column("fingerprint", String(length=64), nullable=False),
        sa.Column("method", String(length=8), nullable=False),
        sa.Column("path", String(length=255), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("location", String(length=255), nullable=True),
        sa.Column("created_at", Time(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("api_key_id", "key", name="uq_idempotency_key_holder"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_key")
