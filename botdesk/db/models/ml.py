"""Machine learning: the feature store (versioned feature sets and their rows per symbol,
timeframe and candle), model versions with their artifact and report, the out-of-sample
predictions the report was computed from, and the promotion history."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, LargeBinary
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import check_in, text_column, time_column


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"  # trained, never promoted
    CHAMPION = "champion"  # the promoted model of its symbol and timeframe
    RETIRED = "retired"  # was champion, replaced by a promotion (a rollback may restore it)
    ROLLED_BACK = "rolled_back"  # was champion, taken off by a rollback


class MlFeatureSet(SQLModel, table=True):
    __tablename__ = "ml_feature_set"

    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    fingerprint: str = Field(max_length=64)  # sha256 of the definition (feature_set.py)
    names: str = text_column(nullable=False)  # JSON list, the stored column order
    created_at: datetime = time_column(nullable=False)


class MlFeature(SQLModel, table=True):
    """One row of a feature set: float64 values in the set's column order (little-endian
    bytes, NaN where a column has no value), never rewritten once stored."""

    __tablename__ = "ml_feature"

    feature_set_version: int = Field(
        sa_column=Column(
            Integer, ForeignKey("ml_feature_set.version"), primary_key=True, nullable=False
        )
    )
    symbol: str = Field(max_length=20, primary_key=True)
    timeframe: str = Field(max_length=8, primary_key=True)
    open_time_ms: int = Field(primary_key=True, sa_type=BigInteger)
    values: bytes = Field(sa_type=LargeBinary, nullable=False)


class MlModel(SQLModel, table=True):
    __tablename__ = "ml_model"
    __table_args__ = (
        check_in("status", ModelStatus, "ck_ml_model_status"),
        Index("ix_ml_model_market_status", "symbol", "timeframe", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)  # the version users name
    symbol: str = Field(max_length=20)
    timeframe: str = Field(max_length=8)
    feature_set_version: int = Field(foreign_key="ml_feature_set.version")
    data_source: str = Field(max_length=255)  # stored | a kline file's name
    label: str = text_column(nullable=False)  # JSON: the label definition
    params: str = text_column(nullable=False)  # JSON: LightGBM and validation parameters
    train_from_ms: int = Field(sa_type=BigInteger)  # first candle the model learnt from
    train_to_ms: int = Field(sa_type=BigInteger)  # last candle whose label it learnt
    test_from_ms: int | None = Field(default=None, sa_type=BigInteger)  # out-of-sample span
    test_to_ms: int | None = Field(default=None, sa_type=BigInteger)
    report: str = text_column(nullable=False)  # JSON: metrics, confusion, backtests
    importance: str = text_column(nullable=False)  # JSON: {feature: gain}
    artifact: bytes = Field(sa_type=LargeBinary, nullable=False)  # LightGBM's model text
    artifact_sha256: str = Field(max_length=64)
    status: str = Field(default=ModelStatus.CANDIDATE, max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = time_column(nullable=False)


class MlPrediction(SQLModel, table=True):
    """The out-of-sample predictions of a model's walk-forward validation, one per test
    candle: the report's figures are recomputed from these."""

    __tablename__ = "ml_prediction"

    model_id: int = Field(
        sa_column=Column(Integer, ForeignKey("ml_model.id", ondelete="CASCADE"), primary_key=True)
    )
    open_time_ms: int = Field(primary_key=True, sa_type=BigInteger)
    fold: int
    actual: int  # -1 sell, 0 hold, 1 buy
    predicted: int
    p_sell: float
    p_hold: float
    p_buy: float


class MlPromotion(SQLModel, table=True):
    """Every promotion and rollback, newest last."""

    __tablename__ = "ml_promotion"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="ml_model.id", index=True)
    symbol: str = Field(max_length=20)
    timeframe: str = Field(max_length=8)
    action: str = Field(max_length=16)  # promote | rollback
    replaced_id: int | None = Field(default=None)  # the champion it took over from
    actor: str = Field(max_length=64)
    reason: str | None = text_column()
    at: datetime = time_column(nullable=False)


class MlExternalPoint(SQLModel, table=True):
    """A point of an external time series (sentiment, fear and greed, on-chain flows...)
    from a CSV file or the webhook: its value as published at `time_ms`, never rewritten."""

    __tablename__ = "ml_external_point"

    name: str = Field(max_length=40, primary_key=True)
    time_ms: int = Field(primary_key=True, sa_type=BigInteger)
    value: float = Field(sa_type=Float, nullable=False)
