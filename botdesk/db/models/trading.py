"""Orders, fills, positions and equity snapshots: the ledger's rows."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import check_in, money_column, text_column, time_column
from botdesk.db.models.vocabulary import (
    OrderStatus,
    OrderType,
    PositionStatus,
    ProtectionStatus,
    Side,
    TimeInForce,
)
from botdesk.db.types import Money


class Order(SQLModel, table=True):
    __tablename__ = "order"
    __table_args__ = (
        check_in("side", Side, "ck_order_side"),
        check_in("type", OrderType, "ck_order_type"),
        check_in("status", OrderStatus, "ck_order_status"),
        check_in("time_in_force", TimeInForce, "ck_order_time_in_force"),
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
    quantity: Decimal = money_column()
    price: Decimal | None = money_column(nullable=True)  # limit price
    stop_price: Decimal | None = money_column(nullable=True)
    # entry | exit | stop_loss | take_profit | trailing_stop | flatten | close | webhook
    purpose: str = Field(default="entry", max_length=16)
    status: str = Field(default=OrderStatus.NEW, max_length=20)
    status_reason: str | None = text_column()
    filled_quantity: Decimal = money_column(default=Decimal(0))
    average_price: Decimal | None = money_column(nullable=True)
    candle_open_ms: int | None = Field(default=None, sa_type=BigInteger)
    # gtc: rests until filled or cancelled; gtd: expires at the first candle that opens
    # after `expires_at` (`botdesk.engine.fill_rules`), with a reason
    time_in_force: str = Field(
        default=TimeInForce.GTC, max_length=3, sa_column_kwargs={"server_default": "gtc"}
    )
    expires_at: datetime | None = time_column()
    # a leg of a position's exchange-held stop-loss/take-profit (`protection`)
    protection_id: int | None = Field(
        default=None, foreign_key="protection.id", index=True, ondelete="SET NULL"
    )
    created_at: datetime = time_column(nullable=False)
    sent_at: datetime | None = time_column()
    updated_at: datetime | None = time_column()


class Fill(SQLModel, table=True):
    __tablename__ = "fill"
    __table_args__ = (
        UniqueConstraint("order_id", "trade_id", name="uq_fill_order_trade"),
        check_in("side", Side, "ck_fill_side"),
        Index("ix_fill_filled_at", "filled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True, ondelete="CASCADE")
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    # the position (the round trip) this fill moved: a trade's fills, summed by botdesk.db.trades
    position_id: int | None = Field(default=None, index=True)
    trade_id: str = Field(max_length=64)  # exchange trade id, or the paper broker's own
    symbol: str = Field(max_length=20)
    side: str = Field(max_length=4)
    quantity: Decimal = money_column()
    price: Decimal = money_column()
    fee: Decimal = money_column(default=Decimal(0))
    fee_asset: str = Field(default="USDT", max_length=16)
    fee_quote: Decimal = money_column(default=Decimal(0))  # the fee valued in the quote currency
    realized_pnl: Decimal = money_column(default=Decimal(0))  # net of this fill's fee
    filled_at: datetime = time_column(nullable=False)


class Position(SQLModel, table=True):
    __tablename__ = "position"
    __table_args__ = (
        check_in("status", PositionStatus, "ck_position_status"),
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
        # each bot's performance (botdesk.db.trades) read from the index alone, in the order
        # the trades closed
        Index(
            "ix_position_performance",
            "status",
            "bot_id",
            "closed_at",
            "id",
            "realized_pnl",
            "entry_cost",
            "opened_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    symbol: str = Field(max_length=20)
    status: str = Field(default=PositionStatus.OPEN, max_length=8, index=True)
    quantity: Decimal = money_column(default=Decimal(0))
    cost_basis: Decimal = money_column(default=Decimal(0))  # quote paid for the open quantity
    # quote paid for all its buys (each fill's notional as booked), kept by the ledger with
    # each fill: a trade's P&L ratio without summing its fills (botdesk.db.trades)
    entry_cost: Decimal = Field(
        default=Decimal(0), sa_type=Money, nullable=False, sa_column_kwargs={"server_default": "0"}
    )
    entry_price: Decimal | None = money_column(nullable=True)  # cost_basis / quantity, for display
    realized_pnl: Decimal = money_column(default=Decimal(0))  # net of fees
    fees: Decimal = money_column(default=Decimal(0))
    last_price: Decimal | None = money_column(nullable=True)
    unrealized_pnl: Decimal = money_column(default=Decimal(0))
    stop_price: Decimal | None = money_column(nullable=True)
    take_profit: Decimal | None = money_column(nullable=True)
    trailing_percent: Decimal | None = money_column(nullable=True)
    trailing_atr: Decimal | None = money_column(nullable=True)  # ATR multiple
    highest_price: Decimal | None = money_column(nullable=True)
    breakeven_at: Decimal | None = money_column(nullable=True)  # move stop to entry past this price
    opened_at: datetime = time_column(nullable=False)
    closed_at: datetime | None = time_column()
    exit_reason: str | None = Field(default=None, max_length=32)


class AccountBalance(SQLModel, table=True):
    """What an exchange account holds of one asset, as the engine last read it from the
    exchange (the desk never calls the exchange): replaced at each reconciliation."""

    __tablename__ = "account_balance"
    __table_args__ = (
        UniqueConstraint("exchange_account_id", "asset", name="uq_account_balance_asset"),
    )

    id: int | None = Field(default=None, primary_key=True)
    exchange_account_id: int = Field(foreign_key="exchange_account.id", ondelete="CASCADE")
    asset: str = Field(max_length=16)
    free: Decimal = money_column(default=Decimal(0))
    locked: Decimal = money_column(default=Decimal(0))
    read_at: datetime = time_column(nullable=False)


class EquitySnapshot(SQLModel, table=True):
    __tablename__ = "equity_snapshot"
    __table_args__ = (Index("ix_equity_snapshot_bot_at", "bot_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int | None = Field(default=None, foreign_key="bot.id", ondelete="CASCADE")
    at: datetime = time_column(nullable=False, index=True)
    candle_open_ms: int | None = Field(default=None, sa_type=BigInteger)
    equity: Decimal = money_column()
    cash: Decimal = money_column()
    realized_pnl: Decimal = money_column(default=Decimal(0))
    unrealized_pnl: Decimal = money_column(default=Decimal(0))
    fees: Decimal = money_column(default=Decimal(0))
    exposure: Decimal = money_column(default=Decimal(0))


class Protection(SQLModel, table=True):
    """A position's stop-loss and take-profit as the exchange holds them: one OCO order
    list (take-profit LIMIT_MAKER + STOP_LOSS_LIMIT), or one STOP_LOSS_LIMIT or
    TAKE_PROFIT_LIMIT order alone. Its legs are `order` rows (`Order.protection_id`), so
    their fills are booked like any other. A move of the stop replaces the row: the old
    one is cancelled on the exchange, a new one placed (`replaces_id`)."""

    __tablename__ = "protection"
    __table_args__ = (
        check_in("status", ProtectionStatus, "ck_protection_status"),
        Index("ix_protection_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    position_id: int = Field(foreign_key="position.id", index=True, ondelete="CASCADE")
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    symbol: str = Field(max_length=20)
    list_client_order_id: str = Field(max_length=64, unique=True)
    order_list_id: str | None = Field(default=None, max_length=64)  # the exchange's, for an OCO
    quantity: Decimal = money_column()
    stop_price: Decimal | None = money_column(nullable=True)  # the stop leg's trigger
    stop_limit_price: Decimal | None = money_column(nullable=True)  # its limit once triggered
    take_profit: Decimal | None = money_column(nullable=True)
    status: str = Field(default=ProtectionStatus.NEW, max_length=16)
    status_reason: str | None = text_column()
    cancel_requested: bool = Field(default=False)
    replaces_id: int | None = Field(default=None)  # the protection this one replaced
    created_at: datetime = time_column(nullable=False)
    sent_at: datetime | None = time_column()
    updated_at: datetime | None = time_column()


class TradeSummary(SQLModel, table=True):
    """A bot's closed trades summed up, kept by the ledger in the transaction of the fill
    that closes each position (`botdesk.db.trade_summaries`): the performance table reads
    one row per bot instead of every closed position. Amounts are exact (integer units);
    the running P&L's peak and deepest fall follow the trades in the order they closed,
    the last of which is named so a trade that closes out of that order is noticed."""

    __tablename__ = "trade_summary"

    bot_id: int = Field(foreign_key="bot.id", primary_key=True, ondelete="CASCADE")
    trades: int = Field(default=0)
    wins: int = Field(default=0)  # trades with a P&L above 0
    pnl: Decimal = money_column(default=Decimal(0))  # the running P&L: every trade's summed
    gains: Decimal = money_column(default=Decimal(0))  # the winners' P&L
    losses: Decimal = money_column(default=Decimal(0))  # the others' P&L, as a positive amount
    pnl_ratios: Decimal = money_column(default=Decimal(0))  # each trade's P&L / entry cost
    peak: Decimal = money_column(default=Decimal(0))  # of the running P&L, from 0
    max_drawdown: Decimal = money_column(default=Decimal(0))  # deepest fall from the peak
    held_us: int = Field(default=0, sa_type=BigInteger)  # time in trades, microseconds
    last_closed_at: datetime | None = time_column()  # the last trade in closing order
    last_position_id: int | None = Field(default=None)
