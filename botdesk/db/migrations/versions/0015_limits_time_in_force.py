"""order.time_in_force (gtc | gtd) and order.expires_at: resting limit orders that expire

Revision ID: limits_1
Revises: alerts_1

Orders stored before were all good till cancelled: the column's default says so for them.
Plain ADD COLUMNs, no table rebuild: SQLite takes the CHECK inside its ADD COLUMN,
PostgreSQL as a named constraint of its own (the same rule, `ck_order_time_in_force`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import botdesk.db.types

revision: str = "limits_1"
down_revision: str | None = "alerts_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE = "time_in_force IN ('gtc', 'gtd')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            'ALTER TABLE "order" ADD COLUMN time_in_force VARCHAR(3) DEFAULT \'gtc\' NOT NULL '
            f"CONSTRAINT ck_order_time_in_force CHECK ({RULE})"
        )
    else:
        op.add_column(
            "order",
            sa.Column("time_in_force", sa.String(length=3), nullable=False, server_default="gtc"),
        )
        op.create_check_constraint("ck_order_time_in_force", "order", RULE)
    op.add_column(
        "order",
        sa.Column("expires_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("order") as batch:
        batch.drop_column("expires_at")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_order_time_in_force", "order", type_="check")
    with op.batch_alter_table("order") as batch:
        batch.drop_column("time_in_force")
