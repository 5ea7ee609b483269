"""ML: the feature store, model versions, their out-of-sample predictions, promotions

Revision ID: ml_1
Revises: money_1

- ml_feature_set: one row per feature-set version with the fingerprint of its definition;
- ml_feature: the rows of a feature set per (symbol, timeframe, candle), float64 bytes;
- ml_model: a trained model version (label, parameters, windows, report, artifact and
  its sha256, status candidate|champion|retired|rolled_back);
- ml_prediction: the walk-forward predictions its report was computed from;
- ml_promotion: promotions and rollbacks, in order;
- ml_external_point: external time series (CSV or webhook) that models may use as features.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "ml_1"
down_revision: str | None = "money_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Time = botdesk.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "ml_feature_set",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", String(length=64), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("created_at", Time(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "ml_feature",
        sa.Column("feature_set_version", sa.Integer(), nullable=False),
        sa.Column("symbol", String(length=20), nullable=False),
        sa.Column("timeframe", String(length=8), nullable=False),
        sa.Column("open_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("values", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["feature_set_version"], ["ml_feature_set.version"]),
        sa.PrimaryKeyConstraint("feature_set_version", "symbol", "timeframe", "open_time_ms"),
    )
    op.create_table(
        "ml_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", String(length=20), nullable=False),
        sa.Column("timeframe", String(length=8), nullable=False),
        sa.Column("feature_set_version", sa.Integer(), nullable=False),
        sa.Column("data_source", String(length=255), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("train_from_ms", sa.BigInteger(), nullable=False),
        sa.Column("train_to_ms", sa.BigInteger(), nullable=False),
        sa.Column("test_from_ms", sa.BigInteger(), nullable=True),
        sa.Column("test_to_ms", sa.BigInteger(), nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("importance", sa.Text(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("artifact_sha256", String(length=64), nullable=False),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("created_by", String(length=64), nullable=False),
        sa.Column("created_at", Time(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('candidate', 'champion', 'retired', 'rolled_back')",
            name="ck_ml_model_status",
        ),
        sa.ForeignKeyConstraint(["feature_set_version"], ["ml_feature_set.version"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_ml_model_market_status", "ml_model", ["symbol", "timeframe", "status"], unique=False
    )
    op.create_table(
        "ml_prediction",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("open_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=False),
        sa.Column("actual", sa.Integer(), nullable=False),
        sa.Column("predicted", sa.Integer(), nullable=False),
        sa.Column("p_sell", sa.Float(), nullable=False),
        sa.Column("p_hold", sa.Float(), nullable=False),
        sa.Column("p_buy", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["ml_model.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "open_time_ms"),
    )
    op.create_table(
        "ml_promotion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("symbol", String(length=20), nullable=False),
        sa.Column("timeframe", String(length=8), nullable=False),
        sa.Column("action", String(length=16), nullable=False),
        sa.Column("replaced_id", sa.Integer(), nullable=True),
        sa.Column("actor", String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", Time(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["ml_model.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ml_promotion_model_id", "ml_promotion", ["model_id"], unique=False)
    op.create_table(
        "ml_external_point",
        sa.Column("name", String(length=40), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "time_ms"),
    )


def downgrade() -> None:
    op.drop_table("ml_external_point")
    op.drop_index("ix_ml_promotion_model_id", table_name="ml_promotion")
    op.drop_table("ml_promotion")
    op.drop_table("ml_prediction")
    op.drop_index("ix_ml_model_market_status", table_name="ml_model")
    op.drop_table("ml_model")
    op.drop_table("ml_feature")
    op.drop_table("ml_feature_set")
