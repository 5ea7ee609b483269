"""capital_flow and deleted_bot_equity: capital kept apart from P&L

Revision ID: money_1
Revises: analysis_1

- capital_flow: one row per bot created (its capital in), capital changed (the
  difference) or bot deleted (its last equity out), written in the transaction that made
  the change. `bot_id` is no foreign key: a deleted bot's flows stay.
- deleted_bot_equity: a deleted bot's equity snapshots, moved there when it is deleted,
  so the portfolio's history keeps it.

Bots that exist already get no `created` row: the return treats a bot's first snapshot
without a flow before it as capital coming in (see botdesk/db/performance.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "money_1"
down_revision: str | None = "analysis_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capital_flow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("bot_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("at", botdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amount", botdesk.db.types.Money(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('created', 'deleted', 'changed')", name="ck_capital_flow_kind"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_capital_flow_bot_at", "capital_flow", ["bot_id", "at"])
    op.create_index("ix_capital_flow_at", "capital_flow", ["at"])
    op.create_table(
        "deleted_bot_equity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("at", botdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("candle_open_ms", sa.BigInteger(), nullable=True),
        sa.Column("equity", botdesk.db.types.Money(), nullable=False),
        sa.Column("realized_pnl", botdesk.db.types.Money(), nullable=False),
        sa.Column("unrealized_pnl", botdesk.db.types.Money(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deleted_bot_equity_bot_at", "deleted_bot_equity", ["bot_id", "at"])
    op.create_index("ix_deleted_bot_equity_at", "deleted_bot_equity", ["at"])


def downgrade() -> None:
    op.drop_table("deleted_bot_equity")
    op.drop_table("capital_flow")
