"""THE RISK HOOK: every order passes `check_risk` in `botdesk.engine.orders.submit`,
immediately before it is sent to a broker.

Contract (small on purpose; the risk issue fills in the limits):
- input: a `RiskContext` describing the order about to be sent and the bot's state,
  with the open database `session` for any further lookup (risk limits, daily P&L);
- output: a `RiskDecision`, `allowed` or `refused(rule, reason)`. A refusal is stored by
  the order path as a `risk_event` row (kind "refused", the rule, the reason) and the
  order's signal is marked "rejected" with the reason; nothing is sent.
- It must not write, and must be quick: it runs inside the bot's transaction.
- Exits (sells that reduce a long position) stay allowed whatever the limits, so a
  position can always be closed; the kill switch is checked before this hook.

Every order: a sane quantity; long-only spot (no sell beyond the position). Every buy:
enough cash, its fee included; then, with a database session, the bot's state (no entry
while it is paused or halted) and each enabled limit of `botdesk.db.risk_limits`
(see `botdesk.engine.risk.limits`). The package also holds what runs after the fact:
the breaches and the circuit breaker (`breaches`), the position watch (`watch`) and the
dead man's switch (`deadman`).
"""

from botdesk.db.models import Side
from botdesk.db.types import MONEY_UNIT
from botdesk.engine.risk.context import RiskContext, RiskDecision
from botdesk.engine.risk.limits import check_entry

__all__ = ["RiskContext", "RiskDecision", "check_risk"]


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
    if context.session is None or context.bot is None:
        return RiskDecision.allow()
    return check_entry(context)
