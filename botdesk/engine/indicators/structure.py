"""Market structure ("smart money concepts"), our own: swing highs and lows, breaks of
structure (BOS) and changes of character (CHoCH).

Everything is defined on closed candles and never looks ahead: a swing needs `length`
candles after it to be known, and a break is decided on a candle's close.
"""

from dataclasses import dataclass

import numpy as np

from botdesk.engine.indicators.shared import shared

BULLISH, BEARISH = 1, -1


@dataclass(frozen=True, eq=False)
class Swings:
    """high[t] (low[t]) is True where candle t is a swing high (low). Such a swing is known
    only at the close of candle t + length."""

    high: np.ndarray
    low: np.ndarray
    length: int


@dataclass(frozen=True, eq=False)
class Structure:
    """Breaks of structure, one row per candle, as known at that candle's close.

    bos/choch: +1 (bullish) or -1 (bearish) on the candle whose close broke a swing, else 0
    (a break is one or the other); level: the swing price broken (NaN elsewhere);
    swing_index: the broken swing's candle (-1 elsewhere); trend: +1/-1 after the latest
    break up to and including this candle, 0 before the first.
    """

    bos: np.ndarray
    choch: np.ndarray
    level: np.ndarray
    swing_index: np.ndarray
    trend: np.ndarray

    @property
    def breaks(self) -> np.ndarray:
        """+1/-1 on every candle that broke structure, BOS or CHoCH alike."""
        return self.bos + self.choch


@shared
def swing_points(high, low, length: int = 5) -> Swings:
    """Fractal swings with `length` candles on each side.

    Candle t is a swing high when high[t] is strictly above the highs of the `length`
    candles before it and at least as high as the `length` candles after it (so of two
    equal tops the first is the swing); a swing low mirrors it with lows. The first and
    last `length` candles cannot be swings.
    """
    if length < 1:
        raise ValueError("a swing needs at least one candle on each side")
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    count = len(high)
    is_high = np.zeros(count, dtype=bool)
    is_low = np.zeros(count, dtype=bool)
    if count >= 2 * length + 1:
        centre = slice(length, count - length)
        highest = _rolling(np.maximum, high, length)  # of high[i .. i+length-1]
        lowest = _rolling(np.minimum, low, length)
        before = slice(0, count - 2 * length)
        after = slice(length + 1, count - length + 1)
        is_high[centre] = (high[centre] > highest[before]) & (high[centre] >= highest[after])
        is_low[centre] = (low[centre] < lowest[before]) & (low[centre] <= lowest[after])
    return Swings(is_high, is_low, length)


def _rolling(extreme, values: np.ndarray, length: int) -> np.ndarray:
    """extreme(values[i .. i+length-1]) for every i (a few whole-array calls, no Python loop
    over candles)."""
    result = values[: len(values) - length + 1].copy()
    for shift in range(1, length):
        extreme(result, values[shift : len(values) - length + 1 + shift], out=result)
    return result


def _breaks(close, prices, swing_mask, length, direction):
    """(break candles, swing candles) of one side, as arrays, for each swing broken.

    A swing can be broken from its confirmation until the next swing of the same side is
    confirmed (that one becomes the level to watch), and at most once.
    """
    indexes = np.flatnonzero(swing_mask)
    if not len(indexes):
        return indexes, indexes
    confirmed = indexes + length
    watched = np.searchsorted(confirmed, np.arange(len(close)), side="right") - 1
    known = watched >= 0
    levels = np.where(known, prices[indexes[np.maximum(watched, 0)]], np.nan)
    with np.errstate(invalid="ignore"):
        beyond = known & (close > levels if direction == BULLISH else close < levels)
    candles = np.flatnonzero(beyond)
    swings, first = np.unique(watched[candles], return_index=True)
    return candles[first], indexes[swings]


@shared
def market_structure(high, low, close, swings: Swings) -> Structure:
    """BOS and CHoCH from closes beyond swing levels.

    At each candle the level to watch upward is the most recent swing high already known
    (confirmed); a close strictly above it is a bullish break. A bullish break while the
    trend is bearish is a change of character (CHoCH +1); otherwise, trend unknown or
    already bullish, it is a break of structure (BOS +1). The trend then becomes bullish.
    Bearish breaks mirror this with swing lows and closes strictly below. Should one
    close break both levels, the bullish break counts and the bearish one is dropped.
    """
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    count = len(close)
    up_at, up_swing = _breaks(close, high, swings.high, swings.length, BULLISH)
    down_at, down_swing = _breaks(close, low, swings.low, swings.length, BEARISH)
    both = np.isin(down_at, up_at)  # one close through both levels: the bullish one counts
    down_at, down_swing = down_at[~both], down_swing[~both]
    at = np.concatenate([up_at, down_at])
    order = np.argsort(at, kind="stable")
    at = at[order]
    direction = np.concatenate(
        [np.full(len(up_at), BULLISH, np.int8), np.full(len(down_at), BEARISH, np.int8)]
    )[order]
    swing = np.concatenate([up_swing, down_swing])[order]
    before = np.concatenate([[0], direction[:-1]]).astype(np.int8)  # the trend until then
    is_choch = before == -direction
    bos = np.zeros(count, dtype=np.int8)
    choch = np.zeros(count, dtype=np.int8)
    bos[at[~is_choch]] = direction[~is_choch]
    choch[at[is_choch]] = direction[is_choch]
    level = np.full(count, np.nan)
    level[at] = np.where(direction == BULLISH, high[swing], low[swing])
    swing_index = np.full(count, -1, dtype=np.int64)
    swing_index[at] = swing
    trend_at_break = np.zeros(count, dtype=np.int8)
    trend_at_break[at] = direction
    return Structure(bos, choch, level, swing_index, carry_forward(trend_at_break))


def carry_forward(values: np.ndarray) -> np.ndarray:
    """Each zero replaced by the latest non-zero value before it (0 before the first)."""
    marks = np.flatnonzero(values)
    if not len(marks):
        return values.copy()
    positions = np.zeros(len(values), dtype=np.int64)
    positions[marks] = marks
    positions = np.maximum.accumulate(positions)
    carried = values[positions]
    carried[: marks[0]] = 0
    return carried
