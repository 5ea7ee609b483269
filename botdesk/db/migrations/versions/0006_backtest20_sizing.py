"""backtest_run says how its entries were sized: sizing, risk_per_trade, max_position_notional

Revision ID: backtest20_1
Revises: inputs_1

Runs stored before were all sized with all the cash: the new column says so for them.
Plain ADD COLUMNs (nullable, or with a default): no table rebuild on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "backtest20_1"
down_revision: str | None = "inputs_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "backtest_run",
        sa.Column("sizing", sa.String(length=16), nullable=False, server_default="all-cash"),
    )
    op.add_column("backtest_run", sa.Column("risk_per_trade", sa.BigInteger(), nullable=True))
    op.add_column(
        "backtest_run", sa.Column("max_position_notional", sa.BigInteger(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("backtest_run") as batch:
        batch.drop_column("max_position_notional")
        batch.drop_column("risk_per_trade")
        batch.drop_column("sizing")
