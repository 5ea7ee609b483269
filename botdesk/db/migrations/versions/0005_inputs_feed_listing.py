"""feed_listing: the symbols the engine's feed offers, for the desk to check bots against

Revision ID: inputs_1
Revises: sessions_1

One row per feed (replay, binance), replaced whenever an engine publishes its feed's list
(at start; Binance's again every hour). The desk refuses a bot whose symbol is not in it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "inputs_1"
down_revision: str | None = "sessions_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_listing",
        sa.Column("feed", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("symbols", sa.Text(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("listed_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("engine_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("feed"),
    )


def downgrade() -> None:
    op.drop_table("feed_listing")
