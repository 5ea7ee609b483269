"""How big an entry is.

`size_entry` sizes a live entry from the bot's risk limits: the quantity whose loss, if the
stop is hit, is `risk_per_trade` % of the bot's capital, i.e. capital x risk % / (entry -
stop). A bot without a stop below the entry (stop_atr 0, a webhook buy without one) is
sized as if its stop were `NO_STOP_DISTANCE` (5%) below the entry: the same money at risk
on an assumed move. The quantity is then capped by what `max_position_notional` leaves
room for and by the cash (`entry_quantity`). Without a `risk_per_trade` limit the entry
spends the available cash, as the backtest does.

The order is sized on the signal candle's close but fills at the next open, so a small
buffer keeps the cost, fee and slippage within the cash even when the open is a little
higher. Quantities are rounded down to 8 places (a lot step is the exchange broker's job).
"""

from decimal import ROUND_DOWN, Decimal

from sqlmodel import Session

from botdesk.db import risk_limits
from botdesk.db.models import Bot
from botdesk.db.types import MONEY_UNIT
from botdesk.engine.fill_rules import BASIS_POINT

CASH_BUFFER = Decimal("0.005")  # half a percent of the cash is kept back
KEPT = 1 - CASH_BUFFER
NO_STOP_DISTANCE = Decimal("0.05")  # assumed stop distance, share of the entry price
ZERO = Decimal(0)


def _down(value: Decimal) -> Decimal:
    return max(value, ZERO).quantize(MONEY_UNIT, rounding=ROUND_DOWN)


def entry_quantity(
    cash: Decimal, price: Decimal, *, fee_rate: Decimal, slippage_bps: Decimal
) -> Decimal:
    """The quantity an entry of all available `cash` buys at about `price`; 0 if none."""
    if cash <= 0 or price <= 0:
        return ZERO
    paid = price * (1 + fee_rate)
    if slippage_bps:
        paid *= 1 + slippage_bps * BASIS_POINT
    return _down(cash * KEPT / paid)


def risk_quantity(
    *, capital: Decimal, risk_percent: Decimal, price: Decimal, stop: Decimal | None
) -> Decimal:
    """The quantity that loses `risk_percent` of `capital` if the price falls to `stop`."""
    if price <= 0:
        return ZERO
    has_stop = stop is not None and 0 < stop < price
    distance = price - stop if has_stop else price * NO_STOP_DISTANCE
    return _down(capital * risk_percent / 100 / distance)


def limited_quantity(
    *,
    price: Decimal,
    stop: Decimal | None,
    cash: Decimal,
    capital: Decimal,
    position_quantity: Decimal,
    risk_per_trade: Decimal | None,
    max_position_notional: Decimal | None,
    fee_rate: Decimal,
    slippage_bps: Decimal,
) -> Decimal:
    """An entry's quantity under these limits (None: not set); 0 if none. The one sizing
    rule: a live bot (`size_entry`) and a backtest sized "as a live bot" both use it."""
    if price is None or price <= 0:
        return ZERO
    quantity = entry_quantity(cash, price, fee_rate=fee_rate, slippage_bps=slippage_bps)
    if risk_per_trade is not None:
        quantity = min(
            quantity,
            risk_quantity(capital=capital, risk_percent=risk_per_trade, price=price, stop=stop),
        )
    if max_position_notional is not None:
        quantity = min(quantity, _down((max_position_notional - position_quantity * price) / price))
    return quantity


def size_entry(
    *,
    session: Session,
    bot: Bot,
    price: Decimal,
    stop: Decimal | None,
    cash: Decimal,
    position_quantity: Decimal,
    fee_rate: Decimal,
    slippage_bps: Decimal,
) -> Decimal:
    """An entry's quantity per the bot's risk limits (see the module docstring); 0 if none."""
    if price is None or price <= 0:
        return ZERO
    limits = risk_limits.effective(session=session, bot_id=bot.id)
    return limited_quantity(
        price=price,
        stop=stop,
        cash=cash,
        capital=bot.capital,
        position_quantity=position_quantity,
        risk_per_trade=limits.get("risk_per_trade"),
        max_position_notional=limits.get("max_position_notional"),
        fee_rate=fee_rate,
        slippage_bps=slippage_bps,
    )
