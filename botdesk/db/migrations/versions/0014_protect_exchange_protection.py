"""Protection held by the exchange: a position's stop-loss/take-profit placed on Binance

Revision ID: protect_1
Revises: alerts_1

- protection: one row per OCO order list (or single stop/take-profit order) placed for a
  position, with the exchange's list id, the prices, the quantity and its status.
- order.protection_id: the legs of a protection are order rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "protect_1"
down_revision: str | None = "manual_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Time = botdesk.db.types.UTCDateTime
Money = botdesk.db.types.Money
STATUSES = "'new', 'unknown', 'open', 'filled', 'cancelled', 'rejected', 'expired'"


def upgrade() -> None:
    op.create_table(
        "protection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("symbol", String(length=20), nullable=False),
        sa.Column("list_client_order_id", String(length=64), nullable=False),
        sa.Column("order_list_id", String(length=64), nullable=True),
        sa.Column("quantity", Money(), nullable=False),
        sa.Column("stop_price", Money(), nullable=True),
        sa.Column("stop_limit_price", Money(), nullable=True),
        sa.Column("take_profit", Money(), nullable=True),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("created_at", Time(timezone=True), nullable=False),
        sa.Column("sent_at", Time(timezone=True), nullable=True),
        sa.Column("updated_at", Time(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_protection_status"),
        sa.ForeignKeyConstraint(["bot_id"], ["bot.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["position_id"], ["position.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_client_order_id"),
    )
    op.create_index("ix_protection_status", "protection", ["status"])
    op.create_index("ix_protection_position_id", "protection", ["position_id"])
    op.create_index("ix_protection_bot_id", "protection", ["bot_id"])
    with op.batch_alter_table("order") as batch:
        batch.add_column(sa.Column("protection_id", sa.Integer(), nullable=True))
        batch.create_index("ix_order_protection_id", ["protection_id"])
        batch.create_foreign_key(
            "fk_order_protection_id_protection",
            "protection",
            ["protection_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("order") as batch:
        batch.drop_constraint("fk_order_protection_id_protection", type_="foreignkey")
        batch.drop_index("ix_order_protection_id")
        batch.drop_column("protection_id")
    op.drop_index("ix_protection_bot_id", table_name="protection")
    op.drop_index("ix_protection_position_id", table_name="protection")
    op.drop_index("ix_protection_status", table_name="protection")
    op.drop_table("protection")
