"""The fill rules: how a simulated order fills. The paper broker and the backtest both use
these functions; there is no second implementation.

- A market order from a signal on the close of candle t rests until candle t+1 arrives
  and fills at its open, moved against the trader by the slippage (a buy pays
  open x (1 + bps/10000), a sell gets open x (1 - bps/10000)).
- A stop (a stop-loss, or any stop order) is a market order once touched: a sell stop is
  touched when a candle's low reaches its level, a buy stop when the high does. It fills
  at its level, or at the open if the candle opened beyond it (a gap), then slippage.
- A limit (a take-profit, or any limit order) fills at its level once the candle trades
  at it (a sell limit: high >= level; a buy limit: low <= level), or at the open if the
  candle opened better. A resting limit order suffers no slippage.
- A resting order is matched from the first candle that opens after the one on whose
  close it was placed (it cannot fill inside a candle that had closed before it existed).
  Good till cancelled (gtc) it rests until filled or cancelled; good till a time (gtd) it
  expires, unfilled, at the first candle that opens after its `expires_at`: such a candle
  cannot fill it, even if it trades through the price. A candle that opens at or before
  `expires_at` can. (The backtest counts a time in force in candles: good for n candles
  means it expires when the (n+1)th candle after the signal opens.)
- A long position's stop-loss and take-profit are checked inside every candle after its
  entry (including the entry candle, after the open); if one candle touches both, the
  stop is assumed to have filled first.
- An operator's manual close and the kill switch's flatten fill at once at the latest
  known price (the close of the newest candle) adjusted by the slippage: "close now"
  must not wait for the next candle.
- Every fill pays `fee_rate` of its notional (quantity x price), in the quote currency.

Prices and fees are exact Decimals rounded to 8 places. Trigger checks work on float
arrays (candle prices come from 8-place decimals, so the comparisons are exact).
"""

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from botdesk.db.models import Side
from botdesk.db.types import MONEY_UNIT, quantize

BASIS_POINT = Decimal("0.0001")
STOP_LOSS, TAKE_PROFIT = "stop_loss", "take_profit"


def slipped(price: Decimal, side: str, slippage_bps: Decimal) -> Decimal:
    """The price moved against the trader: a buy pays more, a sell gets less."""
    if not slippage_bps:
        return price.quantize(MONEY_UNIT)
    move = slippage_bps * BASIS_POINT
    return (price * (1 + move if side == "buy" else 1 - move)).quantize(MONEY_UNIT)


def market_fill_price(open_price: Decimal, side: str, slippage_bps: Decimal) -> Decimal:
    """A resting market order, filled at the open of the first candle after it was placed."""
    return slipped(open_price, side, slippage_bps)


def immediate_fill_price(last_price: Decimal, side: str, slippage_bps: Decimal) -> Decimal:
    """A manual close or a flatten on paper: at once, at the latest known price."""
    return slipped(last_price, side, slippage_bps)


def stop_touched(side: str, level: float, high, low) -> np.ndarray:
    """Candles where a stop order of `side` at `level` triggers."""
    return np.asarray(low) <= level if side == Side.SELL else np.asarray(high) >= level


def limit_touched(side: str, level: float, high, low) -> np.ndarray:
    """Candles where a limit order of `side` at `level` fills."""
    return np.asarray(high) >= level if side == Side.SELL else np.asarray(low) <= level


def stop_fill_price(side: str, level: Decimal, open_price: Decimal, slippage_bps) -> Decimal:
    """At the level, or at the open when the candle opened beyond it; then slippage."""
    base = min(open_price, level) if side == Side.SELL else max(open_price, level)
    return slipped(base, side, slippage_bps)


def limit_fill_price(side: str, level: Decimal, open_price: Decimal) -> Decimal:
    """At the level, or at the open when the candle opened better than it."""
    return quantize(max(open_price, level) if side == Side.SELL else min(open_price, level))


def expired(expires_at_ms: int | None, candle_open_ms: int) -> bool:
    """A good-till-time order no longer exists when a candle opening after its expiry
    arrives (None: good till cancelled)."""
    return expires_at_ms is not None and candle_open_ms > expires_at_ms


def fee_for(notional: Decimal, fee_rate: Decimal) -> Decimal:
    return (notional * fee_rate).quantize(MONEY_UNIT)


@dataclass(frozen=True)
class ProtectiveExit:
    index: int  # position of the candle in the arrays searched
    reason: str  # STOP_LOSS or TAKE_PROFIT


def first_protective_exit(high, low, *, stop, take_profit) -> ProtectiveExit | None:
    """The first candle where a long position's stop-loss or take-profit is touched (either
    may be None or NaN for "none"); the stop-loss when one candle touches both."""
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    hits = np.zeros(len(high), dtype=bool)
    stop_hits = hits
    if stop is not None and not np.isnan(float(stop)):
        stop_hits = stop_touched(Side.SELL, float(stop), high, low)
        hits = hits | stop_hits
    if take_profit is not None and not np.isnan(float(take_profit)):
        hits = hits | limit_touched(Side.SELL, float(take_profit), high, low)
    if not hits.any():
        return None
    index = int(np.argmax(hits))
    return ProtectiveExit(index, STOP_LOSS if stop_hits[index] else TAKE_PROFIT)
