"""A fixture strategy that asks for limit orders: ema_cross's signals, entering by a buy
limit below the signal's close and exiting by a sell limit above it, each good for a few
candles."""

import numpy as np
from pydantic import Field

from botdesk.engine.frames import BUY, SELL, CandleFrame, SignalFrame
from botdesk.engine.strategies.ema_cross import EmaCross, EmaCrossParams


class LimitEmaCrossParams(EmaCrossParams):
    entry_offset: float = Field(0.1, ge=0, description="Buy limit, % below the close.")
    exit_offset: float = Field(0.1, ge=-5, description="Sell limit, % above the close.")
    good_for: int = Field(3, ge=0, description="Candles a limit is good for (0: GTC).")


class LimitEmaCross(EmaCross):
    """ema_cross by limit orders (see the module docstring)."""

    name = "limit_ema_cross"
    title = "EMA cross by limits"
    Params = LimitEmaCrossParams

    def signals(self, candles: CandleFrame) -> SignalFrame:
        frame = super().signals(candles)
        p = self.params
        below = candles.close * (1 - p.entry_offset / 100)
        above = candles.close * (1 + p.exit_offset / 100)
        limit = np.where(frame.side == BUY, below, np.where(frame.side == SELL, above, np.nan))
        return frame.with_limits(limit, p.good_for)
