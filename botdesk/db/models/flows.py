"""Capital flows: money put into or taken out of the desk (a bot created, its capital
changed, a bot deleted), kept apart from P&L; and the equity history of deleted bots,
so the portfolio's past stays as it was."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import check_in, money_column, time_column
from botdesk.db.models.vocabulary import FlowKind


class CapitalFlow(SQLModel, table=True):
    """One capital flow of one bot. `bot_id` is not a foreign key: a deleted bot's flows
    stay (its deletion is one of them)."""

    __tablename__ = "capital_flow"
    __table_args__ = (
        check_in("kind", FlowKind, "ck_capital_flow_kind"),
        Index("ix_capital_flow_bot_at", "bot_id", "at"),
        Index("ix_capital_flow_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int
    bot_name: str = Field(max_length=100)
    # the market's clock when the flow happened (the newest equity snapshot's time; on a
    # replay, the replayed time), so it sits between the bot's snapshots before and after
    at: datetime = time_column(nullable=False)
    recorded_at: datetime = time_column(nullable=False)  # wall clock
    amount: Decimal = money_column()  # quote currency; positive in, negative out
    kind: str = Field(max_length=8)
    actor: str = Field(max_length=64)


class DeletedBotEquity(SQLModel, table=True):
    """The equity snapshots of a deleted bot, moved here when it was deleted."""

    __tablename__ = "deleted_bot_equity"
    __table_args__ = (
        Index("ix_deleted_bot_equity_bot_at", "bot_id", "at"),
        Index("ix_deleted_bot_equity_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int
    at: datetime = time_column(nullable=False)
    candle_open_ms: int | None = Field(default=None, sa_type=BigInteger)
    equity: Decimal = money_column()
    realized_pnl: Decimal = money_column(default=Decimal(0))
    unrealized_pnl: Decimal = money_column(default=Decimal(0))
