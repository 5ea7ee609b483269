"""bollinger_breakout: momentum on closes outside the upper Bollinger band."""

import numpy as np
from pydantic import Field

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.indicators import bollinger_bands, sma
from botdesk.engine.strategies.base import Strategy, StrategyParams, crossed_above, crossed_below


class BollingerBreakoutParams(StrategyParams):
    period: int = Field(20, ge=5, le=200, description="Bollinger period (SMA), in candles.")
    stddev: float = Field(
        2.0, ge=0.5, le=5, description="Band width in population standard deviations."
    )


class BollingerBreakout(Strategy):
    """Buys a close that breaks out above the upper band; exits when price falls back
    below the middle band.

    Bands: middle = SMA(period) of closes, upper/lower = middle ± stddev x the population
    standard deviation of the same closes (TA-Lib BBANDS). Buy at t: close[t-1] <=
    upper[t-1] and close[t] > upper[t]. Sell at t: close[t-1] >= middle[t-1] and close[t] <
    middle[t]. Confidence of a buy from volume: 0.5 + 0.5 x clip(volume[t] / SMA(volume,
    period)[t] - 1, 0, 1), so a breakout on twice the usual volume gives 1.0; a sell has
    1.0. Stop: close[t] - stop_atr x ATR(14)[t]; no take-profit.
    """

    name = "bollinger_breakout"
    pure = True
    title = "Bollinger breakout"
    Params = BollingerBreakoutParams

    @property
    def lookback(self) -> int:
        return self.params.period + 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        p = self.params
        upper, middle, _ = bollinger_bands(candles.close, p.period, p.stddev)
        buy = crossed_above(candles.close, upper)
        sell = crossed_below(candles.close, middle)
        with np.errstate(invalid="ignore", divide="ignore"):
            surge = candles.volume / sma(candles.volume, p.period) - 1.0
        return SignalFrame.build(
            len(candles),
            buy=buy,
            sell=sell,
            confidence=np.where(buy, 0.5 + 0.5 * np.clip(np.nan_to_num(surge), 0, 1), 1.0),
            stop=self.atr_stop(candles),
            buy_reason=f"close broke above the upper band ({p.period}, {p.stddev:g} sd)",
            sell_reason=f"close fell below the middle band (SMA {p.period})",
        )
