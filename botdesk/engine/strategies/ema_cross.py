"""ema_cross: trend following on two exponential moving averages."""

import math

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.indicators import ema
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
        fast, slow = ema(candles.close, p.fast), ema(candles.close, p.slow)
        buy, sell, confidence = crossings(fast, slow)
        return SignalFrame.build(
            len(candles),
            buy=buy,
            sell=sell,
            confidence=confidence,
            stop=self.atr_stop(candles),
            buy_reason=f"EMA {p.fast} crossed above EMA {p.slow}",
            sell_reason=f"EMA {p.fast} crossed below EMA {p.slow}",
        )


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
        a0, b0, a1, b1 = fast[t - 1], slow[t - 1], fast[t], slow[t]
        if math.isnan(a0) or math.isnan(b0) or math.isnan(a1) or math.isnan(b1):
            continue
        if a0 <= b0 and a1 > b1:
            buy[t] = True
            if b1 > b0:
                confidence[t] = 1.0
        elif a0 >= b0 and a1 < b1:
            sell[t] = True
            if b1 < b0:
                confidence[t] = 1.0
