"""A fixture strategy that reads two higher timeframes, for the engine and backtest tests."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.strategies.base import Strategy, StrategyParams

HOURS = 6


class HourlyTrend(Strategy):
    """Buy at t when close[t] crosses above the mean close of the last 6 closed 1h candles
    and the latest closed 15m candle closed above its open; sell at t when close[t]
    crosses below that mean. No stop."""

    name = "hourly_trend"
    title = "Hourly trend (test)"
    Params = StrategyParams
    higher_timeframes = ("15m", "1h")
    higher_lookback = HOURS

    @property
    def lookback(self) -> int:
        return 2

    def signals(self, candles: CandleFrame) -> SignalFrame:
        hourly, quarters = self.higher(candles, "1h"), self.higher(candles, "15m")
        closes = hourly.candles.close
        mean = np.full(len(closes), np.nan)
        if len(closes) >= HOURS:  # each mean from its own six closes: no running sum
            mean[HOURS - 1 :] = sliding_window_view(closes, HOURS).mean(axis=1)
        level = hourly.align(mean)
        green = quarters.align(quarters.candles.close - quarters.candles.open) > 0
        with np.errstate(invalid="ignore"):
            above, below = candles.close > level, candles.close < level
        was_above = np.r_[False, above[:-1]]
        was_below = np.r_[False, below[:-1]]
        return SignalFrame.build(
            len(candles),
            buy=above & was_below & green,
            sell=below & was_above,
            confidence=1.0,
            buy_reason="above the 6-hour mean",
            sell_reason="below the 6-hour mean",
        )
