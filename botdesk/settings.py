"""Every setting botdesk reads, from `BOTDESK_*` environment variables or a `.env` file.

This class is the reference a user reads: each field says what it does and its default.
"""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOTDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    DATABASE_URL: str = Field(
        "sqlite:///var/botdesk.db",
        description="SQLAlchemy URL of the shared database. "
        "Use postgresql+psycopg://user@host:5432/botdesk to move to PostgreSQL.",
    )
    VAR_DIR: Path = Field(
        Path("var"),
        description="Folder for the SQLite database and generated secrets (created, mode 0700).",
    )
    SECRET_KEY: str | None = Field(
        None,
        description="Signs desk session cookies. Generated once into var/secret_key when unset.",
    )
    DATA_KEY: str | None = Field(
        None,
        description="Fernet key encrypting TOTP secrets and exchange credentials at rest. "
        "Generated once into var/data_key when unset.",
    )
    HOST: str = Field("127.0.0.1", description="Address the desk listens on.")
    PORT: int = Field(8050, ge=1, le=65535, description="Port the desk listens on.")
    WEB_WORKERS: int = Field(2, ge=1, le=64, description="gunicorn worker processes for the desk.")
    REQUIRE_2FA: bool = Field(
        True, description="Every user must enrol TOTP two-factor before reaching any page."
    )
    SESSION_IDLE_MINUTES: int = Field(
        30, ge=1, description="A desk session ends after this many minutes without a request."
    )
    SESSION_LIFETIME_HOURS: int = Field(
        12, ge=1, description="A desk session ends this many hours after login, active or not."
    )
    LOGIN_RATE_LIMIT_IP: str = Field(
        "30/minute",
        description="Most sign-in attempts (password or code) one IP address may make, "
        "e.g. '30/minute' or '30/minute;200/hour'. Answered with 429 beyond it.",
    )
    LOGIN_RATE_LIMIT_USER: str = Field(
        "10/minute",
        description="Most sign-in attempts (password or code) for one username, from anywhere.",
    )
    KEY_GUESS_RATE_LIMIT: str = Field(
        "30/minute",
        description="Most refused API keys and unknown webhook tokens one IP address may "
        "present; beyond it the API and the webhook answer that address 429 until the "
        "window passes, so keys and tokens cannot be guessed at speed.",
    )
    RATELIMIT_STORAGE_URI: str = Field(
        "memory://",
        description="Where the desk counts sign-in attempts (Flask-Limiter storage URI). "
        "memory:// counts per gunicorn worker; redis://host:6379 or memcached://host:11211 "
        "shares the count between workers and machines. The lockout after 5 wrong attempts "
        "is kept in the database either way.",
    )
    SECURE_COOKIES: bool = Field(
        False,
        description="Mark cookies Secure and send HSTS on requests that came over https; "
        "turn on when the desk is served over https.",
    )
    HEARTBEAT_STALE_SECONDS: int = Field(
        10, ge=2, description="The desk shows the engine as stale past this heartbeat age."
    )
    DEADMAN_SECONDS: float = Field(
        5.0,
        gt=0,
        description="Dead man's switch: the engine places no order while it has not managed "
        "to write its heartbeat (every second) for this many seconds.",
    )
    FEED: Literal["replay", "binance"] = Field(
        "replay", description="Market data: replayed real Binance klines, or Binance itself."
    )
    REPLAY_SPEED: float = Field(
        60.0,
        gt=0,
        description="Replay speed as a multiple of real time (60: one 1m candle per second).",
    )
    REPLAY_DATA: Path | None = Field(
        None,
        description="Folder or CSV file of 1m klines to replay "
        "(open_time_ms,open,high,low,close,volume). Default: the sample bundled in the package.",
    )
    CANDLE_BATCHES: bool = Field(
        True,
        description="Process all the bots of one symbol and timeframe that trade the same "
        "closed candle together, in one transaction (false: each bot in a transaction of its "
        "own, the slower path kept for comparison).",
    )
    LEASE_SECONDS: int = Field(
        15,
        ge=2,
        le=600,
        description="PostgreSQL: how long an engine's lease on a bot lasts without renewal; "
        "a dead engine's bots move to another engine after this.",
    )
    FEE_RATE: Decimal = Field(
        Decimal("0.001"), ge=0, lt=1, description="Paper and backtest fee, share of notional."
    )
    SLIPPAGE_BPS: Decimal = Field(
        Decimal("0"), ge=0, le=1000, description="Paper and backtest slippage in basis points."
    )
    RECONCILE_SECONDS: float = Field(
        30.0,
        ge=1,
        description="The engine reconciles every broker with its venue (Binance: open "
        "orders, missed fills, balances against the ledger) at start and this often.",
    )
    BINANCE_TIMEOUT_SECONDS: float = Field(
        10.0,
        gt=0,
        description="How long a Binance REST call may take; past it an order's outcome is "
        "unknown and it is looked up by client order id before anything is sent again.",
    )
    BINANCE_SEND_WINDOW_SECONDS: float = Field(
        60.0,
        gt=0,
        description="An order not sent to Binance within this many seconds of its decision "
        "(engine down, Binance unreachable) expires instead of being sent late.",
    )
    BINANCE_MARKET_DATA: Literal["live", "testnet"] = Field(
        "live",
        description="With FEED=binance and for `botdesk data download`: klines from the real "
        "market (public, no key) or from the spot testnet.",
    )
    BINANCE_REST_URL: str | None = Field(
        None,
        description="With FEED=binance and for `botdesk data download`: another REST base "
        "URL for klines (a local test server, e.g. http://127.0.0.1:9000). Default: "
        "Binance's own.",
    )
    BINANCE_STREAM_URL: str | None = Field(
        None,
        description="With FEED=binance: another websocket base URL for the kline streams "
        "(e.g. ws://127.0.0.1:9001/). Default: Binance's own.",
    )
    LOG_LEVEL: str = Field("INFO", description="Log level of both processes.")

    @field_validator("LOG_LEVEL")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("LOGIN_RATE_LIMIT_IP", "LOGIN_RATE_LIMIT_USER", "KEY_GUESS_RATE_LIMIT")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"not a rate limit: {value!r} (write e.g. 10/minute)") from None
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The one instance; tests and the CLI call `get_settings.cache_clear()` after changing env."""
    return Settings()
