"""THE RISK HOOK: every order passes `check_risk` in `botdesk.engine.orders.submit`,
immediately before it is sent to a broker.

Contract (small on purpose; the risk issue fills in the limits):
- input: a `RiskContext` describing the order about to be sent and the bot's state,
  with the open database `session` for any further lookup (risk limits, daily P&L);
- output: a `RiskDecision`, `allowed` or `refused(rule, reason)`. A refusal is stored by
  the order path as a `risk_event` row (kind "refused", the rule, the reason) and the
  order's signal is marked "rejected" with the reason; nothing is sent.
- It must not write, and must be quick: it runs inside the bot's transaction.
- Exits (sells that reduce a long position) should stay allowed whatever the limits,
  so a position can always be closed; the kill switch is checked before this hook.

Rules enforced today: a sane quantity; long-only spot (no sell beyond the position);
enough cash for a buy, its fee included.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from botdesk.db.models import Bot, Side, Signal
from botdesk.db.types import MONEY_UNIT


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
    fee_rate: Decimal
    signal: Signal | None = None


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


def check_risk(context: RiskContext) -> RiskDecision:
    quantity = context.quantity
    if quantity <= 0 or quantity != quantity.quantize(MONEY_UNIT):
        return RiskDecision.refuse(
            "quantity", f"quantity {quantity} is not a positive amount with at most 8 decimals"
        )
    if context.price is not None and context.price <= 0:
        return RiskDecision.refuse("quantity", f"price {context.price} is not above 0")
    if context.side == Side.SELL:
        available = context.position_quantity - context.pending_sell_quantity
        if quantity > available:
            return RiskDecision.refuse(
                "long_only",
                f"selling {quantity} {context.symbol} would go short: the position holds "
                f"{context.position_quantity}, {context.pending_sell_quantity} already in "
                "sell orders (spot bots are long-only)",
            )
        return RiskDecision.allow()
    if context.price is None:
        return RiskDecision.refuse("cash", "no price to check the cost of the buy against")
    cost = quantity * context.price * (1 + context.fee_rate)
    if cost > context.cash:
        return RiskDecision.refuse(
            "cash",
            f"buying {quantity} {context.symbol} needs about {cost:.2f} with fees; "
            f"the bot has {context.cash:.2f} cash",
        )
    return RiskDecision.allow()
