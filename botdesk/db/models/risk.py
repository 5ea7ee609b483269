"""Risk limits and the risk events the checks and breaches write."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import money_column, text_column, time_column


class RiskLimit(SQLModel, table=True):
    __tablename__ = "risk_limit"
    __table_args__ = (
        Index(
            "uq_risk_limit_global",
            "kind",
            unique=True,
            sqlite_where=Column("bot_id").is_(None),
            postgresql_where=Column("bot_id").is_(None),
        ),
        Index(
            "uq_risk_limit_bot",
            "bot_id",
            "kind",
            unique=True,
            sqlite_where=Column("bot_id").isnot(None),
            postgresql_where=Column("bot_id").isnot(None),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int | None = Field(default=None, foreign_key="bot.id", ondelete="CASCADE")
    kind: str = Field(max_length=40)
    value: Decimal = money_column()
    enabled: bool = Field(default=True)
    updated_by: str | None = Field(default=None, max_length=64)
    updated_at: datetime = time_column(nullable=False)


class RiskEvent(SQLModel, table=True):
    __tablename__ = "risk_event"
    __table_args__ = (Index("ix_risk_event_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = time_column(nullable=False)
    bot_id: int | None = Field(default=None, foreign_key="bot.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=32)  # refused | breach | circuit_breaker | kill_switch | ...
    rule: str | None = Field(default=None, max_length=40)
    severity: str = Field(default="warning", max_length=16)  # info | warning | critical
    message: str = Field(sa_type=Text)
    signal_id: int | None = Field(default=None, foreign_key="signal.id", ondelete="SET NULL")
    order_id: int | None = Field(default=None, foreign_key="order.id", ondelete="SET NULL")
    details: str | None = text_column()  # JSON
