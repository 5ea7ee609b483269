"""How big an entry is: the bot spends its available cash (the risk issue refines this).

The order is sized on the signal candle's close but fills at the next open, so a small
buffer keeps the cost, fee and slippage within the cash even when the open is a little
higher. Quantities are rounded down to 8 places (a lot step is the exchange broker's job).
"""

from decimal import ROUND_DOWN, Decimal

from botdesk.db.types import MONEY_UNIT
from botdesk.engine.fill_rules import BASIS_POINT

CASH_BUFFER = Decimal("0.005")  # half a percent of the cash is kept back
KEPT = 1 - CASH_BUFFER


def entry_quantity(
    cash: Decimal, price: Decimal, *, fee_rate: Decimal, slippage_bps: Decimal
) -> Decimal:
    """The quantity an entry of all available `cash` buys at about `price`; 0 if none."""
    if cash <= 0 or price <= 0:
        return Decimal(0)
    paid = price * (1 + fee_rate)
    if slippage_bps:
        paid *= 1 + slippage_bps * BASIS_POINT
    return (cash * KEPT / paid).quantize(MONEY_UNIT, rounding=ROUND_DOWN)
