"""The 24-hour ticker of a symbol from its closed candles, as an exchange's ticker reads.

As of the close of the last candle: `last` is its close; the 24 hours are the candles that
opened in the 24 hours before that close; `change` is last minus the open of the first of
them (and in percent of that open); `high`, `low`, `volume` and `quote_volume` are over
them (the quote volume unknown if a candle lacks it). `complete` says the candles cover
the whole 24 hours (none missing).
"""

from dataclasses import dataclass

import numpy as np

from botdesk.engine.frames import CandleFrame

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Ticker:
    close_time_ms: int
    last: float
    open: float
    change: float
    change_percent: float
    high: float
    low: float
    volume: float
    quote_volume: float | None
    trades: int | None
    candles: int
    complete: bool


def ticker(frame: CandleFrame, interval_ms: int) -> Ticker:
    """The ticker as of the last candle of `frame` (candles of `interval_ms`)."""
    if not len(frame):
        raise ValueError("a ticker needs at least one candle")
    close_ms = int(frame.open_time_ms[-1]) + interval_ms
    day = frame.between(close_ms - DAY_MS, None)
    first_open, last = float(day.open[0]), float(day.close[-1])

    def total(values: np.ndarray | None) -> float | None:
        if values is None or np.isnan(values).any():
            return None
        return float(values.sum())

    trades = total(day.trades)
    return Ticker(
        close_time_ms=close_ms,
        last=last,
        open=first_open,
        change=last - first_open,
        change_percent=(last - first_open) / first_open * 100,
        high=float(day.high.max()),
        low=float(day.low.min()),
        volume=float(day.volume.sum()),
        quote_volume=total(day.quote_volume),
        trades=None if trades is None else int(trades),
        candles=len(day),
        complete=len(day) == DAY_MS // interval_ms,
    )
