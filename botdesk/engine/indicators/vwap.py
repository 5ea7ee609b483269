"""Volume-weighted average price (TA-Lib has none, so it is ours)."""

import itertools

import numpy as np

from botdesk.engine.indicators.shared import shared

DAY_MS = 86_400_000


@shared
def vwap(high, low, close, volume, open_time_ms=None) -> np.ndarray:
    """Session VWAP: sum(typical * volume) / sum(volume) since the session began, where
    typical = (high + low + close) / 3.

    With `open_time_ms` the session is the UTC day (the sums restart at 00:00 UTC, as on
    Binance's charts); without it the whole array is one session. NaN until the session
    has traded some volume.
    """
    high, low, close, volume = (np.asarray(a, dtype=np.float64) for a in (high, low, close, volume))
    weighted = (high + low + close) / 3.0 * volume
    if open_time_ms is None:
        bounds = [0, len(volume)]
    else:
        day = np.asarray(open_time_ms, dtype=np.int64) // DAY_MS
        bounds = [0, *np.flatnonzero(day[1:] != day[:-1]) + 1, len(volume)]
    result = np.full(len(volume), np.nan)
    for start, stop in itertools.pairwise(bounds):
        cum_volume = np.cumsum(volume[start:stop])
        cum_weighted = np.cumsum(weighted[start:stop])
        traded = cum_volume > 0
        result[start:stop][traded] = cum_weighted[traded] / cum_volume[traded]
    return result
