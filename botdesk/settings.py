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
    BINANCE_STOP_LIMIT_PERCENT: Decimal = Field(
        Decimal("0.5"),
        ge=0,
        lt=50,
        description="A position's stop-loss held by Binance is a STOP_LOSS_LIMIT order: once "
        "its stop price trades, it sells with a limit this many percent below the stop (room "
        "for the price to fall through the stop and still fill).",
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
    STREAM_MAX_CLIENTS: int = Field(
        64,
        ge=1,
        le=1000,
        description="Most /api/v1/stream connections one desk worker holds; beyond it a new "
        "one is answered 503 with Retry-After. Each holds one of the worker's threads "
        "(asleep: the worker's stream poller writes to every client), so `botdesk web` "
        "gives every worker this many threads more than the 4 that serve pages and API "
        "calls.",
    )
    STREAM_MAX_PER_KEY: int = Field(
        4,
        ge=1,
        le=1000,
        description="Most /api/v1/stream connections one API key may hold on one desk "
        "worker; beyond it a new one is answered 429 with Retry-After.",
    )
    STREAM_POLL_SECONDS: float = Field(
        0.2,
        gt=0,
        le=10,
        description="How often each desk worker's one stream poller reads new events from "
        "the database while a stream is open (the stream's delay is at most about this).",
    )
    STREAM_QUEUE_EVENTS: int = Field(
        1000,
        ge=10,
        le=100_000,
        description="Events waiting for one stream client at most; a client that falls "
        "this far behind is sent a `dropped` event and disconnected, and resumes with "
        "Last-Event-ID.",
    )
    STREAM_HEARTBEAT_SECONDS: float = Field(
        15.0,
        gt=0,
        le=300,
        description="A quiet stream sends a comment line this often, so proxies keep it "
        "open and a vanished client's connection is noticed and closed.",
    )
    STREAM_RETENTION_HOURS: float = Field(
        24.0,
        gt=0,
        description="The engine deletes stream events older than this; a client resuming "
        "from an older Last-Event-ID is sent a `reset` event (read the lists again).",
    )
    STRATEGY_PATH: Path | None = Field(
        None,
        description="Folder of your own strategies: every *.py file in it (not starting "
        "with _) is imported and each Strategy subclass it defines is registered under its "
        "`name`, for bots, backtests and the optimiser alike. Installed packages add "
        "theirs through the entry-point group `botdesk.strategies`. Read when a process "
        "starts (the engine, the desk, each CLI command).",
    )
    LOG_LEVEL: str = Field("INFO", description="Log level of both processes.")
    LOG_RETENTION_DAYS: int = Field(
        14,
        ge=1,
        le=3650,
        description="Warning and error lines of every process are kept in the database (the "
        "desk's Logs page) this many days; the watchdog removes older ones hourly.",
    )
    LOG_RETENTION_ROWS: int = Field(
        100_000,
        ge=1000,
        description="At most this many log lines are kept in the database; the oldest go first.",
    )
    IDEMPOTENCY_KEY_HOURS: float = Field(
        24.0,
        gt=0,
        le=24 * 3650,
        description="An API request's `Idempotency-Key` and its stored answer are kept this "
        "many hours; the watchdog removes older ones hourly. A retry within them gets the "
        "first answer; a retry with an older key is a new request and acts again.",
    )
    NOTIFY_POLL_SECONDS: float = Field(
        0.25,
        gt=0,
        le=60,
        description="How often the watchdog's sender looks for events to deliver.",
    )
    NOTIFY_MAX_ATTEMPTS: int = Field(
        10,
        ge=1,
        le=100,
        description="Tries per delivery before it is marked failed (shown on the "
        "Notifications page).",
    )
    NOTIFY_BACKOFF_SECONDS: float = Field(
        2.0,
        gt=0,
        description="Wait before the first retry of a failed delivery; doubled after each "
        "further failure, up to NOTIFY_BACKOFF_MAX_SECONDS.",
    )
    NOTIFY_BACKOFF_MAX_SECONDS: float = Field(
        300.0, gt=0, description="The longest wait between two tries of one delivery."
    )
    NOTIFY_CLAIM_SECONDS: float = Field(
        60.0,
        ge=1,
        description="A delivery a sender took but did not finish (it was killed) is sent "
        "again after this many seconds, with the same event id.",
    )
    NOTIFY_REFUSAL_WINDOW_MINUTES: int = Field(
        5,
        ge=1,
        le=1440,
        description="Risk refusals are announced as one message per bot, rule and window of "
        "this many minutes, never one per candle.",
    )
    TELEGRAM_API_URL: str | None = Field(
        None,
        description="A local Telegram Bot API server (https://core.telegram.org/bots/api"
        "#using-a-local-bot-api-server) for tgram:// channels, e.g. http://127.0.0.1:8081. "
        "Default: Telegram's own.",
    )
    WEBHOOK_ALLOW_PRIVATE: bool = Field(
        False,
        description="Let subscribers register signal webhooks on loopback and private "
        "addresses (refused by default: a read key must not make botdesk call internal "
        "services).",
    )
    METRICS_TOKEN: str | None = Field(
        None,
        description="Bearer token for /metrics. Unset: /metrics answers only requests from "
        "the desk's own host (loopback).",
    )
    BACKUP_DIR: Path | None = Field(
        None, description="Folder of `botdesk db backup` files. Default: VAR_DIR/backups."
    )
    BACKUP_INTERVAL_HOURS: float = Field(
        0,
        ge=0,
        description="The watchdog takes a backup this often (0: never; e.g. 24 for daily).",
    )
    BACKUP_KEEP: int = Field(
        7, ge=1, le=1000, description="Scheduled backups kept; older ones are removed."
    )

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
    def backup_dir(self) -> Path:
        return self.BACKUP_DIR or self.VAR_DIR / "backups"

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The one instance; tests and the CLI call `get_settings.cache_clear()` after changing env."""
    return Settings()
