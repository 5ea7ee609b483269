"""bot.last_candle_ms holds epoch milliseconds: BIGINT on PostgreSQL

Revision ID: engine_1
Revises: 0001

SQLite's INTEGER already stores 64 bits, and rebuilding the bot table there would
cascade-delete through the foreign keys, so only PostgreSQL changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "engine_1"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "bot",
            "last_candle_ms",
            type_=sa.BigInteger(),
            existing_type=sa.Integer(),
            existing_nullable=True,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "bot",
            "last_candle_ms",
            type_=sa.Integer(),
            existing_type=sa.BigInteger(),
            existing_nullable=True,
        )
