"""macd_trend: trend following on the MACD histogram."""

import numpy as np
from pydantic import Field, model_validator

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.indicators import macd
from botdesk.engine.strategies.base import Strategy, StrategyParams, fast_below_slow


class MacdTrendParams(StrategyParams):
    fast: int = Field(12, ge=2, le=100, description="Fast EMA period of the MACD line.")
    slow: int = Field(26, ge=3, le=200, description="Slow EMA period of the MACD line.")
    signal: int = Field(9, ge=2, le=100, description="EMA period of the signal line.")

    _fast_below_slow = model_validator(mode="after")(fast_below_slow)


class MacdTrend(Strategy):
    """Goes long when the MACD line crosses above its signal line; exits on the cross back.

    MACD line = EMA(fast) - EMA(slow) of closes, signal = EMA(signal) of the MACD line,
    histogram = line - signal (TA-Lib MACD). Buy at t: histogram[t-1] <= 0 < histogram[t].
    Sell at t: histogram[t-1] >= 0 > histogram[t]. Confidence 1.0 when the MACD line is on
    the side of zero the trade bets on (above zero for a buy, below for a sell), 0.6
    otherwise. Stop: close[t] - stop_atr x ATR(14)[t]; no take-profit.
    """

    name = "macd_trend"
    pure = True
    title = "MACD trend"
    Params = MacdTrendParams

    @property
    def lookback(self) -> int:
        return self.params.slow + self.params.signal

    def signals(self, candles: CandleFrame) -> SignalFrame:
        p = self.params
        line, _, histogram = macd(candles.close, p.fast, p.slow, p.signal)
        previous = np.r_[np.nan, histogram[:-1]]
        with np.errstate(invalid="ignore"):
            buy = (previous <= 0) & (histogram > 0)
            sell = (previous >= 0) & (histogram < 0)
            agrees = np.where(buy, line > 0, line < 0)
        return SignalFrame.build(
            len(candles),
            buy=buy,
            sell=sell,
            confidence=np.where(agrees, 1.0, 0.6),
            stop=self.atr_stop(candles),
            buy_reason=f"MACD ({p.fast}, {p.slow}) crossed above its signal ({p.signal})",
            sell_reason=f"MACD ({p.fast}, {p.slow}) crossed below its signal ({p.signal})",
        )
