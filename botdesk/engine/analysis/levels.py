"""Reference levels: the previous day's and week's high and low, the current dealing range
(premium, discount, retracement) and the Fibonacci levels of the last swing leg.

Everything is per candle t and uses candles 0..t only.

- **Previous period** (UTC day, or week from Monday 00:00 UTC): the high and low of the
  candles of the period before t's; `whole` says the data covers that period from its start
  (otherwise the level is of the part seen). The level is **broken** at t once a candle of
  t's own period, up to t, traded beyond it (high above the previous high; low below the
  previous low).
- **Dealing range**: from the latest confirmed swing low to the latest confirmed swing high
  (fractal swings, known `length` candles after them). The leg is up (+1) when the high is
  the more recent of the two, down (-1) otherwise. The equilibrium is the midpoint;
  position = (close - low) / (high - low): above 0.5 is **premium**, below 0.5
  **discount** (below 0 or above 1 once price has left the range).
  **Retracement** = how much of the leg price has given back: for an up leg
  (high - close) / (high - low), for a down leg (close - low) / (high - low), in percent.
- **Fibonacci** of the leg: retracement levels at 23.6, 38.2, 50, 61.8 and 78.6 % of the
  leg back from its end, and extensions at 127.2 and 161.8 % of it from its start.
"""

from dataclasses import dataclass

import numpy as np

from botdesk.engine.indicators import Swings

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
_MONDAY_OFFSET_MS = 3 * DAY_MS  # 1970-01-01 was a Thursday
RETRACEMENTS = (0.236, 0.382, 0.5, 0.618, 0.786)
EXTENSIONS = (1.272, 1.618)


@dataclass(frozen=True, eq=False)
class PeriodLevels:
    """Per candle: the previous period's high and low (NaN when it is not in the data),
    whether the data covers it whole, and whether t's period has broken them by t."""

    period: str
    previous_high: np.ndarray
    previous_low: np.ndarray
    whole: np.ndarray
    high_broken: np.ndarray
    low_broken: np.ndarray


def period_levels(open_time_ms, high, low, period: str = "day") -> PeriodLevels:
    """Previous day's or week's high and low, candle by candle (see the module docstring)."""
    if period not in ("day", "week"):
        raise ValueError("period must be 'day' or 'week'")
    times = np.asarray(open_time_ms, dtype=np.int64)
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    length, offset = (DAY_MS, 0) if period == "day" else (WEEK_MS, _MONDAY_OFFSET_MS)
    ids = (times + offset) // length
    count = len(times)
    nothing = np.full(count, np.nan)
    if not count:
        empty = np.zeros(0, dtype=bool)
        return PeriodLevels(period, nothing, nothing, empty, empty, empty)
    starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
    group_ids = ids[starts]
    group_high = np.maximum.reduceat(high, starts)
    group_low = np.minimum.reduceat(low, starts)
    at = np.minimum(np.searchsorted(group_ids, ids - 1), len(group_ids) - 1)
    found = group_ids[at] == ids - 1
    previous_high = np.where(found, group_high[at], np.nan)
    previous_low = np.where(found, group_low[at], np.nan)
    whole = found & (times[0] <= (ids - 1) * length - offset)
    running_high = np.empty(count)
    running_low = np.empty(count)
    for group, start in enumerate(starts):
        stop = starts[group + 1] if group + 1 < len(starts) else count
        running_high[start:stop] = np.maximum.accumulate(high[start:stop])
        running_low[start:stop] = np.minimum.accumulate(low[start:stop])
    with np.errstate(invalid="ignore"):
        return PeriodLevels(
            period,
            previous_high,
            previous_low,
            whole,
            found & (running_high > previous_high),
            found & (running_low < previous_low),
        )


@dataclass(frozen=True, eq=False)
class DealingRange:
    """Per candle (see the module docstring): the range's high and low and their swing
    candles (-1 / NaN until both sides have a confirmed swing), the leg's direction (+1
    up, -1 down, 0 unknown), the equilibrium, the position in the range (0 at the low, 1
    at the high) and the retracement of the leg in percent."""

    high: np.ndarray
    low: np.ndarray
    high_index: np.ndarray
    low_index: np.ndarray
    direction: np.ndarray
    equilibrium: np.ndarray
    position: np.ndarray
    retracement: np.ndarray


def _latest_confirmed(mask: np.ndarray, length: int) -> np.ndarray:
    """For each candle t, the latest swing candle i with i + length <= t (-1 if none)."""
    count = len(mask)
    known = np.full(count, -1, dtype=np.int64)
    points = np.flatnonzero(mask)
    confirmed = points + length
    inside = confirmed < count
    known[confirmed[inside]] = points[inside]
    marks = known >= 0
    if not marks.any():
        return known
    positions = np.where(marks, np.arange(count), 0)
    positions = np.maximum.accumulate(positions)
    latest = known[positions]
    latest[: np.argmax(marks)] = -1
    return latest


def dealing_range(high, low, close, swings: Swings) -> DealingRange:
    """The dealing range of every candle (see the module docstring)."""
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    high_index = _latest_confirmed(swings.high, swings.length)
    low_index = _latest_confirmed(swings.low, swings.length)
    both = (high_index >= 0) & (low_index >= 0)
    top = np.where(both, high[np.maximum(high_index, 0)], np.nan)
    bottom = np.where(both, low[np.maximum(low_index, 0)], np.nan)
    direction = np.where(both, np.where(high_index > low_index, 1, -1), 0).astype(np.int8)
    span = top - bottom
    with np.errstate(invalid="ignore", divide="ignore"):
        position = np.where(span > 0, (close - bottom) / span, np.nan)
        given_back = np.where(direction == 1, top - close, close - bottom)
        retracement = np.where(span > 0, given_back / span * 100, np.nan)
    return DealingRange(
        high=top,
        low=bottom,
        high_index=np.where(both, high_index, -1),
        low_index=np.where(both, low_index, -1),
        direction=direction,
        equilibrium=(top + bottom) / 2,
        position=position,
        retracement=retracement,
    )


def fibonacci(start: float, end: float) -> dict[str, list[tuple[float, float]]]:
    """Levels of the leg from `start` to `end` (prices): retracements back from the end,
    extensions beyond it, each as (ratio, price)."""
    move = end - start
    return {
        "retracements": [(ratio, end - ratio * move) for ratio in RETRACEMENTS],
        "extensions": [(ratio, start + ratio * move) for ratio in EXTENSIONS],
    }
