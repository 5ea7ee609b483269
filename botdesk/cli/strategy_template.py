"""The file `botdesk strategy new NAME` writes: a working strategy to edit."""

import re

NAME = re.compile(r"^[a-z][a-z0-9_]{1,47}$")

TEMPLATE = '''"""{name}: a strategy of your own (written by `botdesk strategy new`; edit freely).

botdesk imports every *.py file of the folder BOTDESK_STRATEGY_PATH and registers each
Strategy subclass under its `name`, for bots, backtests and the optimiser alike. Check it
with `botdesk strategy check {name}` (lookahead and warm-up) before you trust a backtest.
"""

import numpy as np
from pydantic import Field, model_validator

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.indicators import sma
from botdesk.engine.strategies.base import Strategy, StrategyParams, crossed_above, crossed_below


class Params(StrategyParams):
    """The parameters. Every one needs a default, and numbers need both bounds (ge/le):
    the desk builds its forms from them and the optimiser searches between them.
    `stop_atr` (the stop-loss distance in ATRs, 0 for none) comes from StrategyParams."""

    fast: int = Field(10, ge=2, le=100, description="Period of the fast average, in candles.")
    slow: int = Field(30, ge=3, le=300, description="Period of the slow average; above fast.")

    @model_validator(mode="after")
    def _fast_below_slow(self):
        if self.fast >= self.slow:
            raise ValueError("fast must be below slow")
        return self


class {class_name}(Strategy):
    """Goes long when the fast simple moving average of the closes crosses above the slow
    one, exits when it crosses below. Say here exactly what your rule does: the desk shows
    this text next to the strategy."""

    name = "{name}"
    title = "{title}"
    Params = Params

    @property
    def lookback(self) -> int:
        """Candles of history the rule needs before it can signal."""
        return self.params.slow + 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        """One row per candle. Row t may use candles 0..t only (the close of t is known,
        nothing after it): never shift(-1), never a centred window, never a statistic of
        the whole history. The signal is acted on at the open of candle t+1."""
        p = self.params
        fast, slow = sma(candles.close, p.fast), sma(candles.close, p.slow)
        return SignalFrame.build(
            len(candles),
            buy=crossed_above(fast, slow),
            sell=crossed_below(fast, slow),
            confidence=np.ones(len(candles)),
            stop=self.atr_stop(candles),  # close - stop_atr x ATR(14), None when 0
            buy_reason=f"SMA {{p.fast}} crossed above SMA {{p.slow}}",
            sell_reason=f"SMA {{p.fast}} crossed below SMA {{p.slow}}",
        )
'''


def render(name: str) -> str:
    class_name = "".join(part.capitalize() for part in name.split("_") if part)
    title = name.replace("_", " ").capitalize()
    return TEMPLATE.format(name=name, class_name=class_name, title=title)
