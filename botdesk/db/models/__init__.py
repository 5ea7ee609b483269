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
from botdesk.db.models.flows import CapitalFlow, DeletedBotEquity
from botdesk.db.models.idempotency import IdempotencyKey
from botdesk.db.models.market import (
    Bot,
    Candle,
    Signal,
)
from botdesk.db.models.ml import (
    MlExternalPoint,
    MlFeature,
    MlFeatureSet,
    MlModel,
    MlPrediction,
    MlPromotion,
    ModelStatus,
)
from botdesk.db.models.research import WalkForwardRun
from botdesk.db.models.risk import (
    RiskEvent,
    RiskLimit,
)
from botdesk.db.models.stream import StreamEvent
from botdesk.db.models.trading import (
    AccountBalance,
    EquitySnapshot,
    Fill,
    Order,
    Position,
    Protection,
)
from botdesk.db.models.vocabulary import (
    ACTIVE_BOT_STATES,
    LIVE_PROTECTION_STATUSES,
    OPEN_ORDER_STATUSES,
    BotState,
    CommandStatus,
    Environment,
    FlowKind,
    OrderStatus,
    OrderType,
    PositionStatus,
    ProtectionStatus,
    Role,
    Scope,
    Side,
    SignalStatus,
    TimeInForce,
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
    "protection",
    "equity_snapshot",
    "capital_flow",
    "deleted_bot_equity",
    "risk_limit",
    "risk_event",
    "command",
    "engine_state",
    "engine_instance",
    "feed_listing",
    "audit_log",
    "backtest_run",
    "ml_feature_set",
    "ml_feature",
    "ml_model",
    "ml_prediction",
    "ml_promotion",
    "ml_external_point",
    "stream_event",
    "walk_forward_run",
    "notification_channel",
    "notification",
    "signal_webhook",
    "notification_delivery",
    "log_entry",
    "idempotency_key",
    "account_balance",
]

__all__ = [
    "ACTIVE_BOT_STATES",
    "ALL_TABLES",
    "LIVE_PROTECTION_STATUSES",
    "OPEN_ORDER_STATUSES",
    "AccountBalance",
    "ApiKey",
    "AuditLog",
    "BacktestRun",
    "BackupCode",
    "Bot",
    "BotState",
    "Candle",
    "CapitalFlow",
    "Command",
    "CommandStatus",
    "DeletedBotEquity",
    "DeskSession",
    "EngineInstance",
    "EngineState",
    "Environment",
    "EquitySnapshot",
    "ExchangeAccount",
    "FeedListing",
    "Fill",
    "FlowKind",
    "IdempotencyKey",
    "LogEntry",
    "MlExternalPoint",
    "MlFeature",
    "MlFeatureSet",
    "MlModel",
    "MlPrediction",
    "MlPromotion",
    "ModelStatus",
    "Notification",
    "NotificationChannel",
    "NotificationDelivery",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionStatus",
    "Protection",
    "ProtectionStatus",
    "RiskEvent",
    "RiskLimit",
    "Role",
    "Scope",
    "Side",
    "Signal",
    "SignalStatus",
    "SignalWebhook",
    "StreamEvent",
    "TimeInForce",
    "User",
    "WalkForwardRun",
]
