"""Strategy files as a user writes them, for the loader, the check and the runner tests."""

from pathlib import Path

CLEAN = '''
import numpy as np
from pydantic import Field
from botdesk.engine.frames import SignalFrame
from botdesk.engine.indicators import sma
from botdesk.engine.strategies.base import Strategy, StrategyParams, crossed_above, crossed_below


class Params(StrategyParams):
    period: int = Field(20, ge=2, le=200, description="SMA period.")


class PriceOverSma(Strategy):
    """Buys when the close crosses above its SMA, sells when it crosses below."""

    name = "{name}"
    title = "Close over SMA"
    Params = Params

    @property
    def lookback(self):
        return self.params.period + 1

    def signals(self, candles):
        average = sma(candles.close, self.params.period)
        return SignalFrame.build(
            len(candles),
            buy=crossed_above(candles.close, average),
            sell=crossed_below(candles.close, average),
            confidence=np.ones(len(candles)),
        )
'''

# the classic mistake: tomorrow's close compared with today's (pandas shift(-1))
PEEKING = '''
import numpy as np
import pandas as pd
from botdesk.engine.frames import SignalFrame
from botdesk.engine.strategies.base import Strategy


class NextClose(Strategy):
    """Buys when the next close is higher: it reads the future."""

    name = "next_close"
    title = "Next close"

    @property
    def lookback(self):
        return 2

    def signals(self, candles):
        close = pd.Series(candles.close)
        rising = (close.shift(-1) > close).to_numpy()
        before = np.concatenate([[False], rising[:-1]])
        return SignalFrame.build(
            len(candles),
            buy=rising & ~before,
            sell=~rising & before,
            confidence=np.ones(len(candles)),
        )
'''

RAISES_AT_RUNTIME = """
from botdesk.engine.strategies.base import Strategy


class Divides(Strategy):
    name = "divides"
    title = "Divides by zero"

    @property
    def lookback(self):
        return 1

    def signals(self, candles):
        return len(candles) / 0
"""

RAISES_ON_IMPORT = """
import json

SETTINGS = json.loads("{not json")
"""

NOT_VALID = """
from pydantic import Field
from botdesk.engine.strategies.base import Strategy, StrategyParams


class Params(StrategyParams):
    period: int = Field(ge=2, le=10)  # no default: the desk could not build a form


class NoDefault(Strategy):
    name = "no_default"
    title = "No default"
    Params = Params

    @property
    def lookback(self):
        return 1

    def signals(self, candles):
        raise NotImplementedError
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(text)
    return path


# a user strategy on the higher timeframes it declares: above the last closed hour's high
HIGHER = '''
import numpy as np
from botdesk.engine.frames import SignalFrame
from botdesk.engine.strategies.base import Strategy


class OverLastHour(Strategy):
    """Buys when the close is above the last closed hour's high, sells below its low."""

    name = "{name}"
    title = "Over the last hour"
    higher_timeframes = {timeframes}
    higher_lookback = 1

    @property
    def lookback(self):
        return 1

    def signals(self, candles):
        hourly = self.higher(candles, "1h")
        high, low = hourly.align(hourly.candles.high), hourly.align(hourly.candles.low)
        with np.errstate(invalid="ignore"):
            above, below = candles.close > high, candles.close < low
        return SignalFrame.build(
            len(candles),
            buy=above & ~np.r_[False, above[:-1]],
            sell=below & ~np.r_[False, below[:-1]],
            confidence=np.ones(len(candles)),
        )
'''
