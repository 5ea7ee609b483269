"""The tables shared by the engine and the desk: the whole contract between the two processes.

Money, prices and quantities are `Money` (exact Decimal, 8 places); times are `UTCDateTime`;
candle times are integer milliseconds since the epoch, as Binance gives them. One module per
part of the contract; everything is importable from `botdesk.db.models`.
"""

from botdesk.db.models.access import (
    ApiKey,
    BackupCode,
    ExchangeAccount,
    User,
)
from botdesk.db.models.alerts import (
    LogEntry,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    SignalWebhook,
)
from botdesk.db.models.control import (
    AuditLog,
    BacktestRun,
    Command,
    EngineInstance,
    EngineState,
)
from botdesk.db.models.desk_sessions import DeskSession
from botdesk.db.models.feeds import FeedListing
from botdesk.db.models.market import (
    Bot,
    Candle,
    Signal,
)
from botdesk.db.models.risk import (
    RiskEvent,
    RiskLimit,
)
from botdesk.db.models.trading import (
    EquitySnapshot,
    Fill,
    Order,
    Position,
)
from botdesk.db.models.vocabulary import (
    OPEN_ORDER_STATUSES,
    BotState,
    CommandStatus,
    Environment,
    OrderStatus,
    OrderType,
    PositionStatus,
    Role,
    Scope,
    Side,
    SignalStatus,
)

ALL_TABLES = [
    "user",
    "backup_code",
    "api_key",
    "exchange_account",
    "desk_session",
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
    "feed_listing",
    "audit_log",
    "backtest_run",
    "notification_channel",
    "notification",
    "signal_webhook",
    "notification_delivery",
    "log_entry",
]

__all__ = [
    "ALL_TABLES",
    "OPEN_ORDER_STATUSES",
    "ApiKey",
    "AuditLog",
    "BacktestRun",
    "BackupCode",
    "Bot",
    "BotState",
    "Candle",
    "Command",
    "CommandStatus",
    "DeskSession",
    "EngineInstance",
    "EngineState",
    "Environment",
    "EquitySnapshot",
    "ExchangeAccount",
    "FeedListing",
    "Fill",
    "LogEntry",
    "Notification",
    "NotificationChannel",
    "NotificationDelivery",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionStatus",
    "RiskEvent",
    "RiskLimit",
    "Role",
    "Scope",
    "Side",
    "Signal",
    "SignalStatus",
    "SignalWebhook",
    "User",
]
