"""Bots and what they read: the bot, the candles, the signals."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import check_in, money_column, text_column, time_column
from botdesk.db.models.vocabulary import (
    BotState,
    Side,
    SignalStatus,
)


class Bot(SQLModel, table=True):
    __tablename__ = "bot"
    __table_args__ = (
        check_in("desired_state", BotState, "ck_bot_desired_state"),
        check_in("status", BotState, "ck_bot_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    strategy: str = Field(max_length=64)
    params: str = Field(default="{}", sa_type=Text)  # JSON, validated by the strategy's model
    symbol: str = Field(max_length=20, index=True)
    timeframe: str = Field(default="1m", max_length=8)
    broker: str = Field(default="paper", max_length=16)  # paper | binance
    exchange_account_id: int | None = Field(default=None, foreign_key="exchange_account.id")
    capital: Decimal = money_column(default=Decimal("10000"))  # quote currency allocated to the bot
    desired_state: str = Field(default=BotState.STOPPED, max_length=16)
    status: str = Field(default=BotState.STOPPED, max_length=16, index=True)
    status_reason: str | None = text_column()
    status_changed_at: datetime | None = time_column()
    # last closed candle fully processed (BIGINT; SQLite's INTEGER already holds 64 bits)
    last_candle_ms: int | None = Field(
        default=None, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    accepts_webhook: bool = Field(default=False)
    webhook_token_hash: str | None = Field(default=None, max_length=128, unique=True)
    # the admin who let it run although its strategy failed the lookahead check (audited)
    lookahead_allowed_by: str | None = Field(default=None, max_length=64)
    lease_owner: str | None = Field(default=None, max_length=64)  # engine instance running it
    lease_expires_at: datetime | None = time_column()
    created_at: datetime = time_column(nullable=False)
    updated_at: datetime | None = time_column()


class Candle(SQLModel, table=True):
    __tablename__ = "candle"

    symbol: str = Field(max_length=20, primary_key=True)
    timeframe: str = Field(max_length=8, primary_key=True)
    open_time_ms: int = Field(primary_key=True, sa_type=BigInteger)
    open: Decimal = money_column()
    high: Decimal = money_column()
    low: Decimal = money_column()
    close: Decimal = money_column()
    volume: Decimal = money_column()
    # Binance's extra kline fields, None where the source did not give them (the 1m and 1h
    # files in ../shared/data, an aggregate of candles one of which lacked them)
    quote_volume: Decimal | None = money_column(nullable=True)
    trades: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    taker_buy_base_volume: Decimal | None = money_column(nullable=True)
    taker_buy_quote_volume: Decimal | None = money_column(nullable=True)


class Signal(SQLModel, table=True):
    __tablename__ = "signal"
    __table_args__ = (
        UniqueConstraint("bot_id", "dedupe_key", name="uq_signal_bot_dedupe"),
        check_in("side", Side, "ck_signal_side"),
        check_in("status", SignalStatus, "ck_signal_status"),
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
    price: Decimal | None = money_column(nullable=True)
    stop: Decimal | None = money_column(nullable=True)
    take_profit: Decimal | None = money_column(nullable=True)
    reason: str | None = text_column()
    status: str = Field(default=SignalStatus.NEW, max_length=16)
    status_reason: str | None = text_column()
    created_at: datetime = time_column(nullable=False)
