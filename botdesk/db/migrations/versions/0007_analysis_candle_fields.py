"""Candles keep Binance's extra kline fields; API keys may be held to an IP allow-list

Revision ID: analysis_1
Revises: backtest20_1

- candle: quote_volume, trades, taker_buy_base_volume, taker_buy_quote_volume, all
  nullable (sources without them, such as the 1m and 1h files, leave them empty). The
  volumes are money columns (BIGINT units of 1e-8) like `volume`.
- api_key.allowed_ips: the CIDRs a key is accepted from, comma-separated; NULL for any.

Plain ADD COLUMN on both databases: SQLite adds a nullable column without rebuilding the
table (a rebuild would cascade-delete through the foreign keys).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "analysis_1"
down_revision: str | None = "backtest20_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANDLE_COLUMNS = (
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
)


def upgrade() -> None:
    for name in CANDLE_COLUMNS:
        op.add_column("candle", sa.Column(name, sa.BigInteger(), nullable=True))
    op.add_column("api_key", sa.Column("allowed_ips", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("allowed_ips")
    with op.batch_alter_table("candle") as batch:
        for name in reversed(CANDLE_COLUMNS):
            batch.drop_column(name)
