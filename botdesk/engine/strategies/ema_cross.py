"""ema_cross: trend following on two exponential moving averages."""

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from botdesk.engine.frames import BUY, CandleFrame, Reasons, SignalFrame
from botdesk.engine.indicators import ema
from botdesk.engine.indicators.shared import sharing
from botdesk.engine.strategies.base import Strategy, StrategyParams, fast_below_slow


class EmaCrossParams(StrategyParams):
    fast: int = Field(9, ge=2, le=100, description="Period of the fast EMA, in candles.")
    slow: int = Field(21, ge=3, le=200, description="Period of the slow EMA; above fast.")

    _fast_below_slow = model_validator(mode="after")(fast_below_slow)


class EmaCross(Strategy):
    """Goes long when the fast EMA crosses above the slow EMA on a closed candle and exits
    when it crosses below (TA-Lib's EMA, seeded with the SMA of the first `period` closes).

    Buy at t: fast[t-1] <= slow[t-1] and fast[t] > slow[t]. Sell at t: fast[t-1] >=
    slow[t-1] and fast[t] < slow[t]. Confidence 1.0 when the slow EMA moves the same way as
    the cross (slow[t] > slow[t-1] for a buy, < for a sell), 0.5 otherwise. Stop: close[t] -
    stop_atr x ATR(14)[t]; no take-profit (the opposite cross exits).
    """

    name = "ema_cross"
    pure = True
    title = "EMA cross"
    Params = EmaCrossParams

    @property
    def lookback(self) -> int:
        return self.params.slow + 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        p = self.params
        close = np.ascontiguousarray(candles.close, dtype=np.float64)
        buy_reason = f"EMA {p.fast} crossed above EMA {p.slow}"
        sell_reason = f"EMA {p.fast} crossed below EMA {p.slow}"
        # one compiled pass, unless the EMAs are shared between bots or a sweep's sets
        # (then each is computed once for all) or the closes start with NaN (which
        # TA-Lib skips)
        if not sharing() and len(close) and not np.isnan(close[0]):
            return _frame(close, p.fast, p.slow, self.atr_stop(candles), buy_reason, sell_reason)
        fast, slow = ema(close, p.fast), ema(close, p.slow)
        buy, sell, confidence = crossings(fast, slow)
        return SignalFrame.build(
            len(candles),
            buy=buy,
            sell=sell,
            confidence=confidence,
            stop=self.atr_stop(candles),
            buy_reason=buy_reason,
            sell_reason=sell_reason,
        )


def _frame(close, fast: int, slow: int, stop, buy_reason: str, sell_reason: str) -> SignalFrame:
    """What `SignalFrame.build` makes of `crossings(ema(close, fast), ema(close, slow))`,
    in one compiled pass computing both EMAs as TA-Lib does (the same floats: tests), the
    crossings, the sides and confidences; the stop (close - stop_atr x ATR) on buy rows."""
    count = len(close)
    side, confidence = np.empty(count, dtype=np.int8), np.empty(count, dtype=np.float64)
    _ema_signals(close, fast, slow, side, confidence)
    stops = np.full(count, np.nan) if stop is None else np.where(side == BUY, stop, np.nan)
    reasons = Reasons(side, buy_reason, sell_reason)
    return SignalFrame(side, confidence, stops, np.full(count, np.nan), reasons)


@njit(cache=True, inline="always")
def _ema_step(t, period, k, price, total, value):
    """(sum of the closes so far, EMA) after candle t (TA-Lib's steps, see below)."""
    if t >= period:
        return total, (price - value) * k + value
    total += price
    return total, total / period if t == period - 1 else value


@njit(cache=True)
def _ema_signals(close, fast, slow, side, confidence):
    """TA-Lib's EMA (ta_EMA.c: k = 2 / (period + 1); the first value, at period - 1, the
    sum of the first `period` closes divided by period; then ema = (close - ema) x k + ema)
    of both periods, and `_crossings`'s rule on them, into side (1, -1, 0) and confidence
    (0 without a signal), as `SignalFrame.build` gives them. The two EMAs' chains of
    dependent operations run side by side, where two TA-Lib calls run one after another."""
    k_fast, k_slow = 2.0 / (fast + 1), 2.0 / (slow + 1)
    sum_fast = sum_slow = 0.0
    ema_fast = ema_slow = before_fast = before_slow = np.nan
    for t in range(len(close)):
        price = close[t]
        sum_fast, ema_fast = _ema_step(t, fast, k_fast, price, sum_fast, ema_fast)
        sum_slow, ema_slow = _ema_step(t, slow, k_slow, price, sum_slow, ema_slow)
        up, down, agrees = _cross(before_fast, before_slow, ema_fast, ema_slow)
        side[t] = np.int8(up) - np.int8(down)
        confidence[t] = 1.0 if agrees else (0.5 if up | down else 0.0)
        before_fast, before_slow = ema_fast, ema_slow


def crossings(fast: np.ndarray, slow: np.ndarray):
    """(buy, sell, confidence) of the rule in `EmaCross`'s docstring, in one compiled
    pass: what `base.crossed_above`/`crossed_below` give (False where a value is NaN) and
    the slow EMA's direction on the crossing candle (arrays made by numpy: see
    `frame_kernels`)."""
    count = len(fast)
    buy, sell = np.zeros(count, dtype=bool), np.zeros(count, dtype=bool)
    confidence = np.full(count, 0.5)
    _crossings(fast, slow, buy, sell, confidence)
    return buy, sell, confidence


@njit(cache=True)
def _crossings(fast, slow, buy, sell, confidence):
    for t in range(1, len(fast)):
        up, down, agrees = _cross(fast[t - 1], slow[t - 1], fast[t], slow[t])
        buy[t], sell[t] = up, down
        confidence[t] = 1.0 if agrees else 0.5


@njit(cache=True, inline="always")
def _cross(a0, b0, a1, b1):
    """The rule, from fast a and slow b one candle apart: (crossed up, crossed down, the
    slow EMA moving the cross's way). Branch-free (the compiler vectorizes it): a
    comparison with NaN is False, so a candle where a value is NaN is neither a buy nor a
    sell, as in `base.crossed_above`."""
    up = (a0 <= b0) & (a1 > b1)
    down = (a0 >= b0) & (a1 < b1)  # never with `up`: a1 > b1 and a1 < b1
    return up, down, (up & (b1 > b0)) | (down & (b1 < b0))
