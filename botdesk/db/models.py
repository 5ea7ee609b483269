"""The tables shared by the engine and the desk: the whole contract between the two processes.

Money, prices and quantities are `Money` (exact Decimal, 8 places); times are `UTCDateTime`;
candle times are integer milliseconds since the epoch, as Binance gives them.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from botdesk.db.types import Money, UTCDateTime, utcnow


def _check(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def _money(nullable: bool = False, default: Decimal | None = None):
    return Field(default=default, sa_type=Money, nullable=nullable)


def _time(nullable: bool = True, index: bool = False):
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _text(nullable: bool = True):
    return Field(default=None, sa_type=Text, nullable=nullable)


# --- vocabularies -----------------------------------------------------------------------


class Role(StrEnum):
    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "trader": 1, "admin": 2}[self.value]

    def allows(self, needed: "Role") -> bool:
        return self.rank >= Role(needed).rank


class Scope(StrEnum):
    READ = "read"
    TRADE = "trade"
    ADMIN = "admin"


class BotState(StrEnum):
    """What the operator asked for (desired_state) and what the engine reports (status)."""

    RUNNING = "running"
    PAUSED = "paused"  # manages open positions, opens nothing new
    STOPPED = "stopped"
    HALTED = "halted"  # stopped by the kill switch, a breach or the circuit breaker
    ERROR = "error"  # the strategy raised; the message is in status_reason


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class SignalStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IGNORED = "ignored"  # nothing to do (e.g. a sell with no position on a long-only bot)


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class OrderStatus(StrEnum):
    NEW = "new"  # accepted by botdesk, waiting to be sent or filled
    OPEN = "open"  # resting at the broker
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # sent, outcome not yet known (timeout): query before any resend


OPEN_ORDER_STATUSES = (
    OrderStatus.NEW,
    OrderStatus.OPEN,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.UNKNOWN,
)


class PositionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CommandStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Environment(StrEnum):
    TESTNET = "testnet"
    LIVE = "live"


# --- people and access ------------------------------------------------------------------


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (_check("role", Role, "ck_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.VIEWER, max_length=16)
    disabled: bool = Field(default=False)
    totp_secret_encrypted: str | None = Field(default=None, max_length=512)
    totp_enabled: bool = Field(default=False)
    totp_last_step: int | None = Field(default=None)  # refuses a code from a step already used
    failed_attempts: int = Field(default=0)
    locked_until: datetime | None = _time()
    session_version: int = Field(default=1)  # bumped to revoke every session of the user
    created_at: datetime = _time(nullable=False)
    last_login_at: datetime | None = _time()
    password_changed_at: datetime | None = _time()


class BackupCode(SQLModel, table=True):
    __tablename__ = "backup_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=255)
    used_at: datetime | None = _time()
    created_at: datetime = _time(nullable=False)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (_check("scope", Scope, "ck_api_key_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=32, unique=True, index=True)  # visible part, e.g. bd_3f9a1c
    key_hash: str = Field(max_length=255)
    scope: str = Field(max_length=16)
    created_at: datetime = _time(nullable=False)
    expires_at: datetime | None = _time()
    last_used_at: datetime | None = _time()
    revoked_at: datetime | None = _time()


class ExchangeAccount(SQLModel, table=True):
    __tablename__ = "exchange_account"
    __table_args__ = (_check("environment", Environment, "ck_exchange_account_environment"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    venue: str = Field(default="binance", max_length=32)
    environment: str = Field(default=Environment.TESTNET, max_length=16)
    api_key_encrypted: str = Field(max_length=1024)
    api_secret_encrypted: str = Field(max_length=1024)
    api_key_last4: str = Field(max_length=4)
    base_url: str | None = Field(default=None, max_length=255)  # only for a local test server
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _time(nullable=False)
    updated_at: datetime | None = _time()


# --- bots and market data ---------------------------------------------------------------


class Bot(SQLModel, table=True):
    __tablename__ = "bot"
    __table_args__ = (
        _check("desired_state", BotState, "ck_bot_desired_state"),
        _check("status", BotState, "ck_bot_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    strategy: str = Field(max_length=64)
    params: str = Field(default="{}", sa_type=Text)  # JSON, validated by the strategy's model
    symbol: str = Field(max_length=20, index=True)
    timeframe: str = Field(default="1m", max_length=8)
    broker: str = Field(default="paper", max_length=16)  # paper | binance
    exchange_account_id: int | None = Field(default=None, foreign_key="exchange_account.id")
    capital: Decimal = _money(default=Decimal("10000"))  # quote currency allocated to the bot
    desired_state: str = Field(default=BotState.STOPPED, max_length=16)
    status: str = Field(default=BotState.STOPPED, max_length=16, index=True)
    status_reason: str | None = _text()
    status_changed_at: datetime | None = _time()
    # last closed candle fully processed (BIGINT; SQLite's INTEGER already holds 64 bits)
    last_candle_ms: int | None = Field(
        default=None, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    accepts_webhook: bool = Field(default=False)
    webhook_token_hash: str | None = Field(default=None, max_length=128, unique=True)
    lease_owner: str | None = Field(default=None, max_length=64)  # engine instance running it
    lease_expires_at: datetime | None = _time()
    created_at: datetime = _time(nullable=False)
    updated_at: datetime | None = _time()


class Candle(SQLModel, table=True):
    __tablename__ = "candle"

    symbol: str = Field(max_length=20, primary_key=True)
    timeframe: str = Field(max_length=8, primary_key=True)
    open_time_ms: int = Field(primary_key=True, sa_type=BigInteger)
    open: Decimal = _money()
    high: Decimal = _money()
    low: Decimal = _money()
    close: Decimal = _money()
    volume: Decimal = _money()


class Signal(SQLModel, table=True):
    __tablename__ = "signal"
    __table_args__ = (
        UniqueConstraint("bot_id", "dedupe_key", name="uq_signal_bot_dedupe"),
        _check("side", Side, "ck_signal_side"),
        _check("status", SignalStatus, "ck_signal_status"),
        Index("ix_signal_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    # "c:<candle ms>" for a strategy signal, "tv:<alert id>" for a webhook alert
    dedupe_key: str = Field(max_length=128)
    source: str = Field(default="strategy", max_length=16)  # strategy | webhook | manual
    symbol: str = Field(max_length=20)
    timeframe: str = Field(max_length=8)
    candle_open_ms: int | None = Field(default=None, sa_type=BigInteger)
    side: str = Field(max_length=4)
    confidence: float = Field(default=1.0)
    price: Decimal | None = _money(nullable=True)
    stop: Decimal | None = _money(nullable=True)
    take_profit: Decimal | None = _money(nullable=True)
    reason: str | None = _text()
    status: str = Field(default=SignalStatus.NEW, max_length=16)
    status_reason: str | None = _text()
    created_at: datetime = _time(nullable=False)


# --- orders, fills, positions, equity ---------------------------------------------------


class Order(SQLModel, table=True):
    __tablename__ = "order"
    __table_args__ = (
        _check("side", Side, "ck_order_side"),
        _check("type", OrderType, "ck_order_type"),
        _check("status", OrderStatus, "ck_order_status"),
        Index("ix_order_status", "status"),
        Index("ix_order_created_at", "created_at"),
        Index("ix_order_updated_at", "updated_at"),  # the orders grid's change marker
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    signal_id: int | None = Field(default=None, foreign_key="signal.id", ondelete="SET NULL")
    client_order_id: str = Field(max_length=64, unique=True)
    exchange_order_id: str | None = Field(default=None, max_length=64)
    broker: str = Field(default="paper", max_length=16)
    symbol: str = Field(max_length=20)
    side: str = Field(max_length=4)
    type: str = Field(default=OrderType.MARKET, max_length=8)
    quantity: Decimal = _money()
    price: Decimal | None = _money(nullable=True)  # limit price
    stop_price: Decimal | None = _money(nullable=True)
    # entry | exit | stop_loss | take_profit | trailing_stop | flatten | close | webhook
    purpose: str = Field(default="entry", max_length=16)
    status: str = Field(default=OrderStatus.NEW, max_length=20)
    status_reason: str | None = _text()
    filled_quantity: Decimal = _money(default=Decimal(0))
    average_price: Decimal | None = _money(nullable=True)
    candle_open_ms: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = _time(nullable=False)
    sent_at: datetime | None = _time()
    updated_at: datetime | None = _time()


class Fill(SQLModel, table=True):
    __tablename__ = "fill"
    __table_args__ = (
        UniqueConstraint("order_id", "trade_id", name="uq_fill_order_trade"),
        _check("side", Side, "ck_fill_side"),
        Index("ix_fill_filled_at", "filled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True, ondelete="CASCADE")
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    trade_id: str = Field(max_length=64)  # exchange trade id, or the paper broker's own
    symbol: str = Field(max_length=20)
    side: str = Field(max_length=4)
    quantity: Decimal = _money()
    price: Decimal = _money()
    fee: Decimal = _money(default=Decimal(0))
    fee_asset: str = Field(default="USDT", max_length=16)
    fee_quote: Decimal = _money(default=Decimal(0))  # the fee valued in the quote currency
    realized_pnl: Decimal = _money(default=Decimal(0))  # net of this fill's fee
    filled_at: datetime = _time(nullable=False)


class Position(SQLModel, table=True):
    __tablename__ = "position"
    __table_args__ = (
        _check("status", PositionStatus, "ck_position_status"),
        # at most one open position per bot and symbol
        Index(
            "uq_position_open",
            "bot_id",
            "symbol",
            unique=True,
            sqlite_where=Column("status") == "open",
            postgresql_where=Column("status") == "open",
        ),
        # each bot's realized P&L (bots list, overview) read from the index alone
        Index("ix_position_bot_realized", "bot_id", "realized_pnl"),
        Index("ix_position_closed_at", "closed_at"),  # the positions grid's change marker
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    symbol: str = Field(max_length=20)
    status: str = Field(default=PositionStatus.OPEN, max_length=8, index=True)
    quantity: Decimal = _money(default=Decimal(0))
    cost_basis: Decimal = _money(default=Decimal(0))  # quote paid for the open quantity
    entry_price: Decimal | None = _money(nullable=True)  # cost_basis / quantity, for display
    realized_pnl: Decimal = _money(default=Decimal(0))  # net of fees
    fees: Decimal = _money(default=Decimal(0))
    last_price: Decimal | None = _money(nullable=True)
    unrealized_pnl: Decimal = _money(default=Decimal(0))
    stop_price: Decimal | None = _money(nullable=True)
    take_profit: Decimal | None = _money(nullable=True)
    trailing_percent: Decimal | None = _money(nullable=True)
    trailing_atr: Decimal | None = _money(nullable=True)  # ATR multiple
    highest_price: Decimal | None = _money(nullable=True)
    breakeven_at: Decimal | None = _money(nullable=True)  # move stop to entry past this price
    opened_at: datetime = _time(nullable=False)
    closed_at: datetime | None = _time()
    exit_reason: str | None = Field(default=None, max_length=32)


class EquitySnapshot(SQLModel, table=True):
    __tablename__ = "equity_snapshot"
    __table_args__ = (Index("ix_equity_snapshot_bot_at", "bot_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int | None = Field(default=None, foreign_key="bot.id", ondelete="CASCADE")
    at: datetime = _time(nullable=False, index=True)
    candle_open_ms: int | None = Field(default=None, sa_type=BigInteger)
    equity: Decimal = _money()
    cash: Decimal = _money()
    realized_pnl: Decimal = _money(default=Decimal(0))
    unrealized_pnl: Decimal = _money(default=Decimal(0))
    fees: Decimal = _money(default=Decimal(0))
    exposure: Decimal = _money(default=Decimal(0))


# --- risk -------------------------------------------------------------------------------


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
    value: Decimal = _money()
    enabled: bool = Field(default=True)
    updated_by: str | None = Field(default=None, max_length=64)
    updated_at: datetime = _time(nullable=False)


class RiskEvent(SQLModel, table=True):
    __tablename__ = "risk_event"
    __table_args__ = (Index("ix_risk_event_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False)
    bot_id: int | None = Field(default=None, foreign_key="bot.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=32)  # refused | breach | circuit_breaker | kill_switch | ...
    rule: str | None = Field(default=None, max_length=40)
    severity: str = Field(default="warning", max_length=16)  # info | warning | critical
    message: str = Field(sa_type=Text)
    signal_id: int | None = Field(default=None, foreign_key="signal.id", ondelete="SET NULL")
    order_id: int | None = Field(default=None, foreign_key="order.id", ondelete="SET NULL")
    details: str | None = _text()  # JSON


# --- control ----------------------------------------------------------------------------


class Command(SQLModel, table=True):
    __tablename__ = "command"
    __table_args__ = (
        _check("status", CommandStatus, "ck_command_status"),
        Index("ix_command_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # bot.start | bot.stop | kill_switch.engage | ...
    target: str | None = Field(default=None, max_length=64)  # "bot:3", "position:7", "all"
    params: str = Field(default="{}", sa_type=Text)  # JSON
    issued_by: str = Field(max_length=64)
    issued_via: str = Field(default="desk", max_length=16)  # desk | cli | api | webhook | engine
    reason: str | None = _text()
    status: str = Field(default=CommandStatus.PENDING, max_length=16)
    created_at: datetime = _time(nullable=False)
    acked_at: datetime | None = _time()
    finished_at: datetime | None = _time()
    claimed_by: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    result: str | None = _text()


class EngineState(SQLModel, table=True):
    """A single row (id=1): the latched kill switch and the latest heartbeat."""

    __tablename__ = "engine_state"

    id: int = Field(default=1, primary_key=True)
    kill_switch_engaged: bool = Field(default=False)
    kill_switch_flatten: bool = Field(default=False)
    kill_switch_reason: str | None = _text()
    kill_switch_by: str | None = Field(default=None, max_length=64)
    kill_switch_at: datetime | None = _time()
    kill_switch_command_id: int | None = Field(default=None)
    released_by: str | None = Field(default=None, max_length=64)
    released_at: datetime | None = _time()
    release_reason: str | None = _text()
    last_beat: datetime | None = _time()
    engine_id: str | None = Field(default=None, max_length=64)  # instance that beat last
    engine_started_at: datetime | None = _time()
    trading_blocked_reason: str | None = _text()  # set while the engine refuses to trade


class EngineInstance(SQLModel, table=True):
    """One row per engine process ever started; several on PostgreSQL share the bots."""

    __tablename__ = "engine_instance"

    id: str = Field(primary_key=True, max_length=64)
    hostname: str = Field(max_length=255)
    pid: int
    feed: str = Field(max_length=16)
    started_at: datetime = _time(nullable=False)
    last_beat: datetime | None = _time()
    stopped_at: datetime | None = _time()


class AuditLog(SQLModel, table=True):
    """Append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_action", "action"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False)
    actor: str = Field(max_length=100)  # username, "api:<prefix>", "cli:<user>", "anonymous"
    user_id: int | None = Field(default=None)
    action: str = Field(max_length=64)  # login.ok, command.kill_switch.engage, access.refused
    target: str | None = Field(default=None, max_length=255)
    outcome: str = Field(default="ok", max_length=16)  # ok | refused | failed
    reason: str | None = _text()
    ip: str | None = Field(default=None, max_length=64)
    details: str | None = _text()  # JSON


class BacktestRun(SQLModel, table=True):
    __tablename__ = "backtest_run"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _time(nullable=False)
    created_by: str | None = Field(default=None, max_length=64)
    strategy: str = Field(max_length=64)
    params: str = Field(default="{}", sa_type=Text)
    symbol: str = Field(max_length=20)
    timeframe: str = Field(max_length=8)
    data_source: str = Field(sa_type=Text)
    from_ms: int | None = Field(default=None, sa_type=BigInteger)
    to_ms: int | None = Field(default=None, sa_type=BigInteger)
    fee_rate: Decimal = _money(default=Decimal("0.001"))
    slippage_bps: Decimal = _money(default=Decimal(0))
    initial_capital: Decimal = _money(default=Decimal("10000"))
    status: str = Field(default="queued", max_length=16)  # queued | running | done | failed
    progress: float = Field(default=0.0)
    error: str | None = _text()
    started_at: datetime | None = _time()
    finished_at: datetime | None = _time()
    candles: int | None = Field(default=None)
    trades: int | None = Field(default=None)
    win_rate: float | None = Field(default=None)
    total_return: float | None = Field(default=None)
    max_drawdown: float | None = Field(default=None)
    sharpe: float | None = Field(default=None)
    profit_factor: float | None = Field(default=None)
    fees_paid: Decimal | None = _money(nullable=True)
    final_equity: Decimal | None = _money(nullable=True)
    equity_curve: str | None = _text()  # JSON [[ms, equity], ...], downsampled
    trade_list: str | None = _text()  # JSON list of trades


ALL_TABLES = [
    "user",
    "backup_code",
    "api_key",
    "exchange_account",
    "bot",
    "candle",
    "signal",
    "order",
    "fill",
    "position",
    "equity_snapshot",
    "risk_limit",
    "risk_event",
    "command",
    "engine_state",
    "engine_instance",
    "audit_log",
    "backtest_run",
]
