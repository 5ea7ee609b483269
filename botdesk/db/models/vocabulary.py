"""The words the tables use: roles, scopes, bot states, sides, order and command states."""

from enum import StrEnum


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


ACTIVE_BOT_STATES = (BotState.RUNNING, BotState.PAUSED)  # a bot the engine trades


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


class TimeInForce(StrEnum):
    """How long a resting order stays: until cancelled, or until its `expires_at`."""

    GTC = "gtc"  # good till cancelled
    GTD = "gtd"  # good till a date: expires at the first candle opening after `expires_at`


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


class FlowKind(StrEnum):
    """Why capital moved: a bot created (its capital in), deleted (its equity out), or its
    capital changed (the difference)."""

    CREATED = "created"
    DELETED = "deleted"
    CHANGED = "changed"


class ProtectionStatus(StrEnum):
    """Where a position's exchange-held stop-loss/take-profit stands (`protection` table)."""

    NEW = "new"  # recorded, waiting to be placed on the exchange
    UNKNOWN = "unknown"  # sent, outcome not yet known: looked up before anything else
    OPEN = "open"  # held by the exchange
    FILLED = "filled"  # a leg filled: the exchange closed the position (the other expired)
    CANCELLED = "cancelled"  # cancelled (released before an exit, or replaced)
    REJECTED = "rejected"  # the exchange or the symbol's filters refused it
    EXPIRED = "expired"  # not placed in time, or the exchange expired it


LIVE_PROTECTION_STATUSES = (
    ProtectionStatus.NEW,
    ProtectionStatus.UNKNOWN,
    ProtectionStatus.OPEN,
)
