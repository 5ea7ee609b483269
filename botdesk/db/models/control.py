"""Control: commands, engine state and instances, the audit log, backtest runs."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Text
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import check_in, money_column, text_column, time_column
from botdesk.db.models.vocabulary import (
    CommandStatus,
)


class Command(SQLModel, table=True):
    __tablename__ = "command"
    __table_args__ = (
        check_in("status", CommandStatus, "ck_command_status"),
        Index("ix_command_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # bot.start | bot.stop | kill_switch.engage | ...
    target: str | None = Field(default=None, max_length=64)  # "bot:3", "position:7", "all"
    params: str = Field(default="{}", sa_type=Text)  # JSON
    issued_by: str = Field(max_length=64)
    issued_via: str = Field(default="desk", max_length=16)  # desk | cli | api | webhook | engine
    reason: str | None = text_column()
    status: str = Field(default=CommandStatus.PENDING, max_length=16)
    created_at: datetime = time_column(nullable=False)
    acked_at: datetime | None = time_column()
    finished_at: datetime | None = time_column()
    claimed_by: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    result: str | None = text_column()


class EngineState(SQLModel, table=True):
    """A single row (id=1): the latched kill switch and the latest heartbeat."""

    __tablename__ = "engine_state"

    id: int = Field(default=1, primary_key=True)
    kill_switch_engaged: bool = Field(default=False)
    kill_switch_flatten: bool = Field(default=False)
    kill_switch_reason: str | None = text_column()
    kill_switch_by: str | None = Field(default=None, max_length=64)
    kill_switch_at: datetime | None = time_column()
    kill_switch_command_id: int | None = Field(default=None)
    released_by: str | None = Field(default=None, max_length=64)
    released_at: datetime | None = time_column()
    release_reason: str | None = text_column()
    last_beat: datetime | None = time_column()
    engine_id: str | None = Field(default=None, max_length=64)  # instance that beat last
    engine_started_at: datetime | None = time_column()
    trading_blocked_reason: str | None = text_column()  # set while the engine refuses to trade


class EngineInstance(SQLModel, table=True):
    """One row per engine process ever started; several on PostgreSQL share the bots."""

    __tablename__ = "engine_instance"

    id: str = Field(primary_key=True, max_length=64)
    hostname: str = Field(max_length=255)
    pid: int
    feed: str = Field(max_length=16)
    started_at: datetime = time_column(nullable=False)
    last_beat: datetime | None = time_column()
    stopped_at: datetime | None = time_column()
    # The engine's counters for /metrics (JSON, rewritten with each heartbeat): candles
    # processed, candle latency histogram buckets, risk refusals by rule.
    metrics: str | None = text_column()


class AuditLog(SQLModel, table=True):
    """Append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_action", "action"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = time_column(nullable=False)
    actor: str = Field(max_length=100)  # username, "api:<prefix>", "cli:<user>", "anonymous"
    user_id: int | None = Field(default=None)
    action: str = Field(max_length=64)  # login.ok, command.kill_switch.engage, access.refused
    target: str | None = Field(default=None, max_length=255)
    outcome: str = Field(default="ok", max_length=16)  # ok | refused | failed
    reason: str | None = text_column()
    ip: str | None = Field(default=None, max_length=64)
    details: str | None = text_column()  # JSON


class BacktestRun(SQLModel, table=True):
    __tablename__ = "backtest_run"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = time_column(nullable=False)
    created_by: str | None = Field(default=None, max_length=64)
    strategy: str = Field(max_length=64)
    params: str = Field(default="{}", sa_type=Text)
    symbol: str = Field(max_length=20)
    timeframe: str = Field(max_length=8)
    data_source: str = Field(sa_type=Text)
    from_ms: int | None = Field(default=None, sa_type=BigInteger)
    to_ms: int | None = Field(default=None, sa_type=BigInteger)
    fee_rate: Decimal = money_column(default=Decimal("0.001"))
    slippage_bps: Decimal = money_column(default=Decimal(0))
    initial_capital: Decimal = money_column(default=Decimal("10000"))
    # How entries were sized: "risk" (as a live bot, with the limits below, read from the
    # desk when the run was created) or "all-cash" (how runs were sized before the choice).
    sizing: str = Field(
        default="all-cash", max_length=16, sa_column_kwargs={"server_default": "all-cash"}
    )
    risk_per_trade: Decimal | None = money_column(nullable=True)  # % of capital; None: unset
    max_position_notional: Decimal | None = money_column(nullable=True)  # quote; None: unset
    status: str = Field(default="queued", max_length=16)  # queued | running | done | failed
    progress: float = Field(default=0.0)
    error: str | None = text_column()
    started_at: datetime | None = time_column()
    finished_at: datetime | None = time_column()
    candles: int | None = Field(default=None)
    trades: int | None = Field(default=None)
    win_rate: float | None = Field(default=None)
    total_return: float | None = Field(default=None)
    max_drawdown: float | None = Field(default=None)
    sharpe: float | None = Field(default=None)
    profit_factor: float | None = Field(default=None)
    fees_paid: Decimal | None = money_column(nullable=True)
    final_equity: Decimal | None = money_column(nullable=True)
    equity_curve: str | None = text_column()  # JSON [[ms, equity], ...], downsampled
    trade_list: str | None = text_column()  # JSON list of trades
    # JSON: buy-and-hold, results by exit reason and by entry signal, monthly returns, the
    # trades' marks for the price chart (botdesk.engine.research.report)
    report: str | None = text_column()
