"""Trading sessions and their ranges: Asia, London and New York, in fixed UTC hours.

| session | UTC hours |
| --- | --- |
| Asia | 00:00 - 08:00 |
| London | 07:00 - 16:00 |
| New York | 13:00 - 22:00 |

Fixed hours all year (no daylight-saving shift: in summer London and New York open an hour
earlier by their clocks than these hours say). A candle belongs to a session when it opens
inside it; London overlaps Asia from 07:00 and New York from 13:00, and a candle there
belongs to both. The range of a session as of candle t is the high and low of its candles
from its start up to t: it grows while the session is open and is final once it has
closed. On 4h candles and longer the ranges are coarse (one candle can span two sessions).
"""

from dataclasses import dataclass

import numpy as np

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SESSIONS: dict[str, tuple[int, int]] = {  # name: (start hour, end hour), UTC
    "asia": (0, 8),
    "london": (7, 16),
    "new_york": (13, 22),
}


@dataclass(frozen=True, eq=False)
class SessionRanges:
    """For one session name, per candle t: the latest session of that name that began at
    or before t (its start in ms), whether candle t is inside it, and that session's high
    and low over its candles up to t (NaN while none of its candles is in the data)."""

    name: str
    start_ms: np.ndarray
    active: np.ndarray
    high: np.ndarray
    low: np.ndarray


def _running(values: np.ndarray, groups: np.ndarray, members: np.ndarray, extreme) -> np.ndarray:
    """extreme of values over the members of each candle's group up to that candle."""
    result = np.full(len(values), np.nan)
    fill = -np.inf if extreme is np.maximum else np.inf
    masked = np.where(members, values, fill)
    boundaries = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    for start, stop in zip(boundaries, [*boundaries[1:], len(values)], strict=True):
        result[start:stop] = extreme.accumulate(masked[start:stop])
    result[np.isinf(result)] = np.nan
    return result


def session_ranges(open_time_ms, high, low) -> list[SessionRanges]:
    """The ranges of every session, candle by candle (see the module docstring)."""
    times = np.asarray(open_time_ms, dtype=np.int64)
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    day = times // DAY_MS
    hour_ms = times % DAY_MS
    ranges = []
    for name, (first, last) in SESSIONS.items():
        begin, end = first * HOUR_MS, last * HOUR_MS
        active = (hour_ms >= begin) & (hour_ms < end)
        # the latest session start at or before each candle: today's, or yesterday's
        start = np.where(hour_ms >= begin, day * DAY_MS + begin, (day - 1) * DAY_MS + begin)
        ranges.append(
            SessionRanges(
                name=name,
                start_ms=start,
                active=active,
                high=_running(high, start, active, np.maximum),
                low=_running(low, start, active, np.minimum),
            )
        )
    return ranges
