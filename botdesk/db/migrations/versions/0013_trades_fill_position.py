"""Trades and balances: each fill names its position; exchange accounts' balances

Revision ID: trades_1
Revises: alerts_1

- fill.position_id (indexed): the round trip a fill belongs to, so a trade is its fills
  summed. Existing fills are assigned in one statement: within a bot and symbol, fills in
  booking order (id) make a round trip until the running quantity is back to zero, and
  the n-th round trip is the n-th position (positions of a bot and symbol are opened one
  after the other, by id).
- account_balance: what each exchange account holds per asset, as the engine last read it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "trades_1"
down_revision: str | None = "protect_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Money = botdesk.db.types.Money
Time = botdesk.db.types.UTCDateTime

# fill id -> position id for the fills booked before this column existed
ASSIGNED = """
WITH running AS (
    SELECT id, bot_id, symbol,
           SUM(CASE WHEN side = 'buy' THEN quantity ELSE -quantity END)
               OVER (PARTITION BY bot_id, symbol ORDER BY id) AS held
    FROM fill
),
numbered AS (
    SELECT id, bot_id, symbol,
           COALESCE(SUM(CASE WHEN held = 0 THEN 1 ELSE 0 END) OVER (
               PARTITION BY bot_id, symbol ORDER BY id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS trip
    FROM running
),
trips AS (
    SELECT id, bot_id, symbol,
           ROW_NUMBER() OVER (PARTITION BY bot_id, symbol ORDER BY id) - 1 AS trip
    FROM position
)
SELECT numbered.id AS fill_id, trips.id AS position_id
FROM numbered JOIN trips
  ON trips.bot_id = numbered.bot_id AND trips.symbol = numbered.symbol
 AND trips.trip = numbered.trip
"""


def upgrade() -> None:
    op.add_column("fill", sa.Column("position_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE fill SET position_id = assigned.position_id "
        f"FROM ({ASSIGNED}) AS assigned WHERE fill.id = assigned.fill_id"
    )
    op.create_index("ix_fill_position_id", "fill", ["position_id"])
    op.create_table(
        "account_balance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange_account_id", sa.Integer(), nullable=False),
        sa.Column("asset", String(length=16), nullable=False),
        sa.Column("free", Money(), nullable=False),
        sa.Column("locked", Money(), nullable=False),
        sa.Column("read_at", Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_account_id"], ["exchange_account.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exchange_account_id", "asset", name="uq_account_balance_asset"),
    )


def downgrade() -> None:
    op.drop_table("account_balance")
    op.drop_index("ix_fill_position_id", table_name="fill")
    with op.batch_alter_table("fill") as batch:
        batch.drop_column("position_id")
