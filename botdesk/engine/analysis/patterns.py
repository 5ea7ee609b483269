"""Candlestick patterns, recognised by TA-Lib's pattern functions (all 61 `CDL*`).

TA-Lib answers per candle: 0 where a pattern is absent, +100 (bullish) or -100 (bearish)
on the candle that completes it, +-200 for a confirmed Hikkake. A pattern at t looks at t
and the few candles before it (its own look-back, a dozen at most, for the averages of
body and shadow lengths) and never later. Indecision patterns (the dojis, spinning top,
high-wave, short line) report +100 whatever the market did, so their direction is given as
0 here. The first candles of a window, inside the longest look-back, are not reported:
their averages would be over fewer candles than on a longer history.
"""

from dataclasses import dataclass

import numpy as np
import talib
from talib import abstract

CODES = tuple(talib.get_function_groups()["Pattern Recognition"])
NAMES = {code: abstract.Function(code).info["display_name"] for code in CODES}
NEUTRAL = frozenset(
    {
        "CDLDOJI",
        "CDLDRAGONFLYDOJI",
        "CDLGRAVESTONEDOJI",
        "CDLHIGHWAVE",
        "CDLLONGLEGGEDDOJI",
        "CDLRICKSHAWMAN",
        "CDLSHORTLINE",
        "CDLSPINNINGTOP",
    }
)
WARM_UP = 15  # candles: longer than every pattern's look-back on TA-Lib's defaults


@dataclass(frozen=True)
class Pattern:
    index: int
    code: str  # TA-Lib's function, e.g. CDLENGULFING
    name: str  # e.g. Engulfing Pattern
    direction: int  # +1 bullish, -1 bearish, 0 indecision
    confirmed: bool  # TA-Lib's 200: a confirmed Hikkake


@dataclass(frozen=True, eq=False)
class CandlePatterns:
    """values[k, t]: TA-Lib's answer of pattern CODES[k] at candle t (0 inside the warm-up)."""

    values: np.ndarray

    def found(self, since: int = 0) -> list[Pattern]:
        """Every pattern at a candle >= `since`, by candle then code."""
        rows, candles = np.nonzero(self.values[:, since:])
        found = []
        for row, offset in sorted(zip(rows, candles, strict=True), key=lambda p: (p[1], p[0])):
            code = CODES[row]
            value = int(self.values[row, since + offset])
            found.append(
                Pattern(
                    index=since + int(offset),
                    code=code,
                    name=NAMES[code],
                    direction=0 if code in NEUTRAL else int(np.sign(value)),
                    confirmed=abs(value) >= 200,
                )
            )
        return found


def candle_patterns(open_, high, low, close) -> CandlePatterns:
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close)]
    values = np.zeros((len(CODES), len(arrays[0])), dtype=np.int16)
    for row, code in enumerate(CODES):
        values[row] = getattr(talib, code)(*arrays)
    values[:, :WARM_UP] = 0
    return CandlePatterns(values)
