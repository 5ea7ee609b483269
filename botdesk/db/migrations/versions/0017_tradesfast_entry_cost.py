"""position.entry_cost: the quote paid for all of a position's buys, kept by the ledger

Revision ID: tradesfast_1
Revises: trades_1

Each trade's P&L ratio is its P&L over what its buys cost; with the cost on the position,
per-bot performance reads the positions (one row per trade) instead of summing every buy
fill. Positions booked before the column existed are filled in one statement: each buy
fill's notional as the ledger books it (`quantize(quantity x price)`, half-even to 8
places), summed per position. Amounts are integer units of 1e-8 whose product overflows
64 bits, so each is split into whole units and the fraction, as `botdesk.db.trades`
does: q x p / E = qh.ph.E + qh.pl + ql.ph + ql.pl / E, E = 1e8.

ix_position_performance covers what performance reads of each closed trade (P&L, cost,
times) in the order the trades closed, so it reads the index alone, without a sort.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import botdesk.db.types

revision: str = "tradesfast_1"
down_revision: str | None = "trades_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# position id -> the notionals of its buy fills summed, in units
ENTRY_COSTS = """
SELECT position_id,
       SUM(whole + CASE WHEN rest > 50000000 OR (rest = 50000000 AND whole % 2 = 1)
                        THEN 1 ELSE 0 END) AS cost
FROM (
    SELECT position_id,
           (quantity / 100000000) * (price / 100000000) * 100000000
           + (quantity / 100000000) * (price % 100000000)
           + (quantity % 100000000) * (price / 100000000)
           + ((quantity % 100000000) * (price % 100000000)) / 100000000 AS whole,
           ((quantity % 100000000) * (price % 100000000)) % 100000000 AS rest
    FROM fill
    WHERE side = 'buy' AND position_id IS NOT NULL
) AS buys
GROUP BY position_id
"""

BACKFILL = (
    "UPDATE position SET entry_cost = costs.cost "
    f"FROM ({ENTRY_COSTS}) AS costs WHERE position.id = costs.position_id"
)


# each bot's closed trades in the order they closed, with what performance reads of them
PERFORMANCE_COLUMNS = [
    "status",
    "bot_id",
    "closed_at",
    "id",
    "realized_pnl",
    "entry_cost",
    "opened_at",
]


def upgrade() -> None:
    op.add_column(
        "position",
        sa.Column("entry_cost", botdesk.db.types.Money(), nullable=False, server_default="0"),
    )
    op.execute(BACKFILL)
    op.create_index("ix_position_performance", "position", PERFORMANCE_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_position_performance", table_name="position")
    with op.batch_alter_table("position") as batch:
        batch.drop_column("entry_cost")
