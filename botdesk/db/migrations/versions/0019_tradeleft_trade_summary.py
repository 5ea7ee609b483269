"""trade_summary: each bot's closed trades summed up, kept by the ledger

Revision ID: tradeleft_1
Revises: streamfix_1

The every-bot performance table read every closed position (100k on the benchmark desk)
into Python for the drawdown and the ratios; the ledger now keeps one row per bot,
updated in the transaction of the fill that closes a position
(`botdesk.db.trade_summaries`). Positions closed before this revision are folded in here,
in closing order, by the same code, so the rows are what the ledger would have kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import botdesk.db.types

revision: str = "tradeleft_1"
down_revision: str | None = "streamfix_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = ("pnl", "gains", "losses", "pnl_ratios", "peak", "max_drawdown")


def backfill(connection) -> int:
    """Fill the table in from the closed positions; returns how many bots have a row."""
    from botdesk.db.trade_summaries import fold  # the ledger's own fold

    position = sa.table(
        "position",
        sa.column("id", sa.Integer),
        sa.column("bot_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("realized_pnl", sa.BigInteger),  # in units, as the fold takes them
        sa.column("entry_cost", sa.BigInteger),
        sa.column("opened_at", botdesk.db.types.UTCDateTime()),
        sa.column("closed_at", botdesk.db.types.UTCDateTime()),
    )
    summary = sa.table(
        "trade_summary",
        sa.column("bot_id", sa.Integer),
        sa.column("trades", sa.Integer),
        sa.column("wins", sa.Integer),
        *(sa.column(name, botdesk.db.types.Money()) for name in MONEY),
        sa.column("held_us", sa.BigInteger),
        sa.column("last_closed_at", botdesk.db.types.UTCDateTime()),
        sa.column("last_position_id", sa.Integer),
    )
    c = position.c
    rows = connection.execute(
        sa.select(c.bot_id, c.realized_pnl, c.entry_cost, c.opened_at, c.closed_at, c.id)
        .where(c.status == "closed")
        .order_by(c.bot_id, c.closed_at, c.id)
    )
    found = fold(rows)
    connection.execute(sa.delete(summary))
    if found:
        connection.execute(
            sa.insert(summary),
            [{"bot_id": bot, **running.values()} for bot, running in found.items()],
        )
    return len(found)


def upgrade() -> None:
    op.create_table(
        "trade_summary",
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        *(sa.Column(name, botdesk.db.types.Money(), nullable=False) for name in MONEY),
        sa.Column("held_us", sa.BigInteger(), nullable=False),
        sa.Column("last_closed_at", botdesk.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_position_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["bot_id"], ["bot.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bot_id"),
    )
    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("trade_summary")

