"""Timeframes and the aggregation of 1m candles into 5m, 15m, 1h and 4h candles.

A candle of timeframe T covers [B, B + T) where B is a multiple of T since the epoch (UTC),
as on Binance. Its open is the first source candle's open, its high the highest high, its
low the lowest low, its close the last close, its volume the sum of volumes; Binance's
extra fields (quote volume, trade count, taker-buy volumes) are sums too, unknown (NaN)
when any candle of the bucket lacks them. A bucket is
closed, and only then emitted, once the source has a candle that closes at or after the
bucket's end. Missing source candles (an exchange outage) leave a bucket with fewer candles;
it is still emitted, as Binance would.
"""

import numpy as np

from botdesk.engine.frames import FLOW_COLUMNS, CandleFrame

MINUTE_MS = 60_000
TIMEFRAMES: dict[str, int] = {
    "1m": MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
}
# intervals a kline file may have (a file of daily candles can be backtested on 1d only)
FILE_INTERVALS: dict[str, int] = {**TIMEFRAMES, "1d": 1440 * MINUTE_MS}


class UnknownTimeframe(ValueError):
    """A timeframe botdesk does not trade."""


def timeframe_ms(timeframe: str) -> int:
    try:
        return FILE_INTERVALS[timeframe]
    except KeyError:
        known = ", ".join(FILE_INTERVALS)
        raise UnknownTimeframe(f"unknown timeframe {timeframe!r}; use one of {known}") from None


def interval_name(interval_ms: int) -> str | None:
    for name, length in FILE_INTERVALS.items():
        if length == interval_ms:
            return name
    return None


def aggregate(frame: CandleFrame, timeframe: str, *, source_interval_ms: int = MINUTE_MS):
    """Closed `timeframe` candles built from `frame` (candles of `source_interval_ms`).

    Raises UnknownTimeframe, or ValueError when the timeframe is not a whole multiple of the
    source interval.
    """
    target = timeframe_ms(timeframe)
    if target % source_interval_ms:
        source = interval_name(source_interval_ms) or f"{source_interval_ms} ms"
        raise ValueError(
            f"cannot build {timeframe} candles from {source} candles: "
            f"{timeframe} is not a whole multiple of {source}"
        )
    if target == source_interval_ms or not len(frame):
        return frame
    buckets = frame.open_time_ms // target
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(frame)] - 1
    bucket_open = buckets[starts] * target
    closed = bucket_open + target <= frame.open_time_ms[-1] + source_interval_ms
    flow = (getattr(frame, name) for name in FLOW_COLUMNS)
    return CandleFrame(
        bucket_open[closed],
        frame.open[starts][closed],
        np.maximum.reduceat(frame.high, starts)[closed],
        np.minimum.reduceat(frame.low, starts)[closed],
        frame.close[ends][closed],
        np.add.reduceat(frame.volume, starts)[closed],
        *(None if values is None else np.add.reduceat(values, starts)[closed] for values in flow),
    )
