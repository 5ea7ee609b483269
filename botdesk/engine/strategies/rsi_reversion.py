"""rsi_reversion: mean reversion on Wilder's RSI."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.indicators import rsi
from botdesk.engine.strategies.base import Strategy, StrategyParams


class RsiReversionParams(StrategyParams):
    period: int = Field(14, ge=2, le=100, description="RSI period, in candles.")
    oversold: float = Field(30, ge=1, le=49, description="Buy when the RSI climbs back above it.")
    overbought: float = Field(70, ge=51, le=99, description="Exit when the RSI reaches it.")


class RsiReversion(Strategy):
    """Buys the bounce out of oversold and sells into overbought.

    Buy at t: rsi[t-1] < oversold <= rsi[t] (the RSI climbs back above `oversold`). Sell at
    t: rsi[t-1] < overbought <= rsi[t] (the RSI reaches `overbought`). Confidence of a buy:
    0.5 + 0.5 x min(1, (oversold - lowest RSI of the last `period` candles) / 10), so a dip
    10 points below oversold gives 1.0; a sell has 1.0. Stop: close[t] - stop_atr x
    ATR(14)[t]; no take-profit.
    """

    name = "rsi_reversion"
    pure = True
    title = "RSI reversion"
    Params = RsiReversionParams

    @property
    def lookback(self) -> int:
        return 2 * self.params.period + 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        p = self.params
        values = rsi(candles.close, p.period)
        previous = np.r_[np.nan, values[:-1]]
        with np.errstate(invalid="ignore"):
            buy = (previous < p.oversold) & (values >= p.oversold)
            sell = (previous < p.overbought) & (values >= p.overbought)
        lowest = np.full(len(candles), np.nan)
        if len(candles) >= p.period:
            lowest[p.period - 1 :] = sliding_window_view(values, p.period).min(axis=1)
        depth = np.clip((p.oversold - lowest) / 10.0, 0.0, 1.0)
        return SignalFrame.build(
            len(candles),
            buy=buy,
            sell=sell,
            confidence=np.where(buy, 0.5 + 0.5 * np.nan_to_num(depth), 1.0),
            stop=self.atr_stop(candles),
            buy_reason=f"RSI {p.period} climbed back above {p.oversold:g}",
            sell_reason=f"RSI {p.period} reached {p.overbought:g}",
        )
