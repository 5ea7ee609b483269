"""What the risk check is given and what it answers (see `botdesk.engine.risk`)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from botdesk.db.models import Bot, Position, Signal


@dataclass(frozen=True)
class RiskContext:
    session: Session
    bot: Bot
    symbol: str
    side: str
    order_type: str
    purpose: str  # entry | exit | stop_loss | take_profit | close | flatten | webhook
    quantity: Decimal
    price: Decimal | None  # the price the order is expected to fill near
    cash: Decimal  # the bot's cash before this order
    position_quantity: Decimal  # the bot's open quantity in this symbol
    pending_sell_quantity: Decimal  # already in the bot's open sell orders of this symbol
    # (a sell's check; the order path passes 0 for a buy, whose checks do not look at it)
    fee_rate: Decimal
    signal: Signal | None = None
    market_at: datetime | None = None  # market time of the decision (replay time in a replay)
    candle_open_ms: int | None = None  # the candle the order was decided on
    equity: Decimal | None = None  # the bot's equity now, when the caller has its account
    # the bot's open positions (every symbol) as they stand, when the caller has them
    open_positions: list[Position] | None = None


@dataclass(frozen=True)
class RiskDecision:
    allowed: bool
    rule: str | None = None
    reason: str | None = None

    @classmethod
    def allow(cls) -> "RiskDecision":
        return cls(True)

    @classmethod
    def refuse(cls, rule: str, reason: str) -> "RiskDecision":
        return cls(False, rule, reason)
