"""Research: walk_forward_run; bot.lookahead_allowed_by; backtest_run.report

Revision ID: research_1
Revises: stream_1

- walk_forward_run: a walk-forward analysis, its settings and its result as JSON;
- bot.lookahead_allowed_by: the admin who let a bot run although its strategy failed the
  lookahead check (the override is in the audit log too);
- backtest_run.report: the report's additions (buy-and-hold, breakdowns, monthly returns,
  trade marks) as JSON.
Optuna's own tables (studies, trials, ...) are created by Optuna's storage the first time
a study is opened, beside these.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "research_1"
down_revision: str | None = "stream_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "walk_forward_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("strategy", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("timeframe", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column(
        "bot",
        sa.Column(
            "lookahead_allowed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        ),
    )
    op.add_column("backtest_run", sa.Column("report", sa.Text(), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35+): a batch rebuild of bot would cascade-delete
    op.drop_column("backtest_run", "report")
    op.drop_column("bot", "lookahead_allowed_by")
    op.drop_table("walk_forward_run")
