"""Price zones ("smart money concepts"), our own: fair value gaps, order blocks and
liquidity levels (equal highs and lows).

Each function returns one row per zone, with the candle from which the zone is known
(`index` or `formed_index`) and the first later candle that filled, mitigated, broke or
swept it (-1 while it has not happened by the last candle). A strategy at candle t may use
a zone known at or before t and must treat an event after t as not yet happened.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from botdesk.engine.indicators.shared import shared
from botdesk.engine.indicators.structure import BEARISH, BULLISH, Structure, Swings

_FIRST_LOOK = 64


def first_touch(values: np.ndarray, after, level, above: bool) -> np.ndarray:
    """For each (after, level) pair: the first index u > after with values[u] >= level
    (above) or <= level (below), or -1 if there is none.

    The running extreme of values from the right settles "never" at once; the others are
    found by looking at the next `_FIRST_LOOK` candles for all pairs at once, then at
    eight times as many for those still looking, and so on.
    """
    values = np.asarray(values, dtype=np.float64)
    after = np.atleast_1d(np.asarray(after, dtype=np.int64))
    level = np.atleast_1d(np.asarray(level, dtype=np.float64))
    count = len(values)
    result = np.full(len(after), -1, dtype=np.int64)
    if not len(after) or not count:
        return result
    fill = -np.inf if above else np.inf
    extreme = np.empty(count + 1)
    extreme[count] = fill
    accumulate = np.maximum.accumulate if above else np.minimum.accumulate
    extreme[:count] = accumulate(values[::-1])[::-1]  # best value from each index on
    begin = np.minimum(after + 1, count)
    pending = extreme[begin] >= level if above else extreme[begin] <= level
    rows = np.flatnonzero(pending)
    span = _FIRST_LOOK
    while len(rows):
        padded = np.concatenate([values, np.full(span, fill)])
        ahead = padded[begin[rows, None] + np.arange(span)]
        hits = ahead >= level[rows, None] if above else ahead <= level[rows, None]
        found = hits.any(axis=1)
        result[rows[found]] = begin[rows[found]] + np.argmax(hits[found], axis=1)
        rows = rows[~found]
        begin[rows] += span
        span *= 8
    return result


def _suffix_max(values: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(values[::-1])[::-1]


def _suffix_min(values: np.ndarray) -> np.ndarray:
    return np.minimum.accumulate(values[::-1])[::-1]


@dataclass(frozen=True, eq=False)
class FairValueGaps:
    """index: the third candle of the pattern (the gap is known at its close);
    direction: +1 bullish / -1 bearish; top, bottom: the gap's prices;
    filled_index: first later candle that trades through the whole gap, -1 if none yet
    (computed when first read)."""

    index: np.ndarray
    direction: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    high: np.ndarray = field(repr=False)
    low: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.index)

    @cached_property
    def filled_index(self) -> np.ndarray:
        filled = np.full(len(self.index), -1, dtype=np.int64)
        bull, bear = self.direction == BULLISH, self.direction == BEARISH
        filled[bull] = first_touch(self.low, self.index[bull], self.bottom[bull], above=False)
        filled[bear] = first_touch(self.high, self.index[bear], self.top[bear], above=True)
        return filled


@shared
def fair_value_gaps(high, low, close, min_size: float = 0.0) -> FairValueGaps:
    """Three-candle imbalances.

    Bullish gap at candle t (t >= 2): low[t] > high[t-2]; the gap spans bottom = high[t-2]
    to top = low[t]. It is filled at the first candle u > t with low[u] <= bottom.
    Bearish gap at t: high[t] < low[t-2]; bottom = high[t], top = low[t-2]; filled at the
    first u > t with high[u] >= top. Gaps smaller than `min_size` x close[t-1] are ignored.
    """
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    if len(high) < 3:
        empty = np.empty(0)
        return FairValueGaps(empty.astype(np.int64), empty.astype(np.int8), empty, empty, high, low)
    threshold = min_size * close[1:-1]
    up = low[2:] - high[:-2] > threshold
    down = low[:-2] - high[2:] > threshold
    index = np.flatnonzero(up | down) + 2
    bullish = up[index - 2]
    direction = np.where(bullish, BULLISH, BEARISH).astype(np.int8)
    top = np.where(bullish, low[index], low[index - 2])
    bottom = np.where(bullish, high[index - 2], high[index])
    return FairValueGaps(index, direction, top, bottom, high, low)


@dataclass(frozen=True, eq=False)
class OrderBlocks:
    """index: the order block candle; formed_index: the candle whose close broke structure
    (the block is known from then); direction: +1 bullish / -1 bearish; top, bottom: the
    block candle's high and low; mitigated_index: first candle after formed_index that trades
    back into the block; broken_index: first candle after formed_index that closes beyond
    its far side (the block failed). -1 where it has not happened yet (both computed when
    first read)."""

    index: np.ndarray
    formed_index: np.ndarray
    direction: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    high: np.ndarray = field(repr=False)
    low: np.ndarray = field(repr=False)
    close: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.index)

    @cached_property
    def mitigated_index(self) -> np.ndarray:
        mitigated = np.full(len(self.index), -1, dtype=np.int64)
        bull, bear = self.direction == BULLISH, self.direction == BEARISH
        formed = self.formed_index
        mitigated[bull] = first_touch(self.low, formed[bull], self.top[bull], above=False)
        mitigated[bear] = first_touch(self.high, formed[bear], self.bottom[bear], above=True)
        return mitigated

    @cached_property
    def broken_index(self) -> np.ndarray:
        broken = np.full(len(self.index), -1, dtype=np.int64)
        bull, bear = self.direction == BULLISH, self.direction == BEARISH
        formed = self.formed_index
        broken[bull] = first_touch(self.close, formed[bull], _below(self.bottom[bull]), False)
        broken[bear] = first_touch(self.close, formed[bear], _above(self.top[bear]), True)
        return broken


@shared
def order_blocks(open_, high, low, close, structure: Structure) -> OrderBlocks:
    """The last opposite candle before the move that broke structure.

    For a bullish break (BOS or CHoCH) at candle b of the swing high at candle i: let m be
    the candle with the lowest low in i..b (the last of them on a tie); the bullish order
    block is the last bearish candle (close < open) in i..m, or candle m itself when there
    is none. It spans the candle's low to high. It is mitigated at the first candle u > b
    with low[u] <= top, and broken at the first u > b with close[u] < bottom. Bearish blocks
    mirror this: the highest high, the last bullish candle (close > open), high[u] >= bottom
    to mitigate, close[u] > top to break.
    """
    open_, high, low, close = (np.asarray(a, dtype=np.float64) for a in (open_, high, low, close))
    breaks = structure.breaks
    formed = np.flatnonzero(breaks)
    direction = breaks[formed].astype(np.int8)
    blocks = _block_candles(
        open_, high, low, close, structure.swing_index[formed], formed, direction
    )
    return OrderBlocks(
        blocks, formed.astype(np.int64), direction, high[blocks], low[blocks], high, low, close
    )


def _block_candles(open_, high, low, close, swing, formed, direction) -> np.ndarray:
    """The block candle of each break, all breaks at once (in chunks to bound memory)."""
    blocks = np.empty(len(formed), dtype=np.int64)
    last = len(close) - 1
    for start in range(0, len(formed), 256):
        part = slice(start, start + 256)
        first, end, bullish = swing[part], formed[part], direction[part][:, None] == BULLISH
        offsets = np.arange(int((end - first).max()) + 1)
        at = np.minimum(first[:, None] + offsets, last)
        inside = offsets <= (end - first)[:, None]
        # bullish: the last of the lowest lows; bearish: the last of the highest highs
        key = np.where(inside, np.where(bullish, low[at], -high[at]), np.inf)
        extreme = len(offsets) - 1 - np.argmin(key[:, ::-1], axis=1)
        opposite = np.where(bullish, close[at] < open_[at], close[at] > open_[at])
        opposite &= offsets <= extreme[:, None]
        found = opposite.any(axis=1)
        latest = len(offsets) - 1 - np.argmax(opposite[:, ::-1], axis=1)
        blocks[part] = first + np.where(found, latest, extreme)
    return blocks


def _above(level):
    """The next float above: "strictly above level" as "at or above" for first_touch."""
    return np.nextafter(level, np.inf)


def _below(level):
    return np.nextafter(level, -np.inf)


@dataclass(frozen=True, eq=False)
class LiquidityLevels:
    """direction: +1 buy-side (equal highs) / -1 sell-side (equal lows); level: the price
    where stops rest; first_index, second_index: the two swings; formed_index: the candle
    where the second swing became known; swept_index: first later candle trading beyond
    the level, -1 if none yet."""

    direction: np.ndarray
    level: np.ndarray
    first_index: np.ndarray
    second_index: np.ndarray
    formed_index: np.ndarray
    swept_index: np.ndarray

    def __len__(self) -> int:
        return len(self.level)


@shared
def liquidity_levels(high, low, swings: Swings, tolerance: float = 0.001) -> LiquidityLevels:
    """Equal highs and equal lows, where resting stop orders gather.

    Two consecutive swing highs i < j whose highs differ by at most `tolerance` x high[i]
    form a buy-side level at max(high[i], high[j]), known at candle j + swing length. It is
    swept at the first later candle whose high is strictly above it. Equal lows mirror
    this (sell-side level at the lower low, swept by a low strictly below).
    """
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    rows = []
    for direction, prices, mask in ((BULLISH, high, swings.high), (BEARISH, low, swings.low)):
        points = np.flatnonzero(mask)
        if len(points) < 2:
            continue
        first, second = points[:-1], points[1:]
        equal = np.abs(prices[second] - prices[first]) <= tolerance * prices[first]
        first, second = first[equal], second[equal]
        pick = np.maximum if direction == BULLISH else np.minimum
        level = pick(prices[first], prices[second])
        formed = second + swings.length
        if direction == BULLISH:
            swept = first_touch(high, formed, _above(level), above=True)
        else:
            swept = first_touch(low, formed, _below(level), above=False)
        rows += zip([direction] * len(level), level, first, second, formed, swept, strict=True)
    rows.sort(key=lambda row: row[4])
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 6
    return LiquidityLevels(
        np.asarray(columns[0], dtype=np.int8),
        np.asarray(columns[1], dtype=np.float64),
        np.asarray(columns[2], dtype=np.int64),
        np.asarray(columns[3], dtype=np.int64),
        np.asarray(columns[4], dtype=np.int64),
        np.asarray(columns[5], dtype=np.int64),
    )
