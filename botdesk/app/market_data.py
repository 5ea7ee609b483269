"""Stored candles as the analysis reads them: one window of a symbol and timeframe, straight
from the candle table into a `CandleFrame` (integers to floats, no Decimal on the way),
for the REST API and the Market page alike.

A window is the `limit` newest candles that opened at or before `to_ms` (default: the
newest stored) and, with `from_ms`, at or after it; with `from_ms` and no limit it is every
candle from `from_ms` to `to_ms` (at most `MAX_WINDOW`).
"""

from dataclasses import dataclass

import numpy as np
from sqlmodel import Session

from botdesk.db import candles as candle_store
from botdesk.engine.frames import FLOW_COLUMNS, PRICE_COLUMNS, CandleFrame
from botdesk.engine.timeframes import FILE_INTERVALS, timeframe_ms

MAX_WINDOW = 5000
_UNIT = 1e8


class UnknownSymbol(LookupError):
    """No candle of the symbol is stored."""


class WindowTooLarge(ValueError):
    """The from/to window holds more candles than MAX_WINDOW."""


class NoCandles(LookupError):
    """No candle of this timeframe in the window."""

    def __init__(self, timeframe: str):
        super().__init__(timeframe)
        self.timeframe = timeframe


@dataclass(frozen=True)
class Window:
    timeframe: str
    limit: int | None = 600  # None: every candle from from_ms (at most MAX_WINDOW)
    from_ms: int | None = None
    to_ms: int | None = None


def frame_from_units(rows: list[tuple[int, ...]]) -> CandleFrame:
    """A CandleFrame from `candles.units_window` rows."""
    if not rows:
        return CandleFrame.empty()
    table = np.array(rows, dtype=np.float64)
    values = table[:, 1:] / _UNIT
    flow = {}
    for offset, name in enumerate(FLOW_COLUMNS, start=len(PRICE_COLUMNS)):
        column = table[:, 1 + offset]
        known = column >= 0
        if not known.any():
            continue
        scaled = column if name == "trades" else values[:, offset]
        flow[name] = np.where(known, scaled, np.nan)
    return CandleFrame.from_arrays(
        table[:, 0].astype(np.int64), *(values[:, i] for i in range(len(PRICE_COLUMNS))), **flow
    )


def stored_timeframes(*, session: Session, symbol: str) -> dict[str, int]:
    """{timeframe: open time of its newest candle} for the symbol, shortest first."""
    found = {}
    for timeframe in FILE_INTERVALS:
        latest = candle_store.latest_open_ms(session=session, symbol=symbol, timeframe=timeframe)
        if latest is not None:
            found[timeframe] = latest
    return found


def read_window(*, session: Session, symbol: str, window: Window) -> CandleFrame:
    """The window's candles (possibly none). Raises WindowTooLarge."""
    return frame_from_units(window_rows(session=session, symbol=symbol, window=window))


def window_rows(*, session: Session, symbol: str, window: Window) -> list[tuple[int, ...]]:
    """The window's candles as `candles.units_window` rows. Raises WindowTooLarge."""
    timeframe_ms(window.timeframe)
    limit = window.limit if window.limit is not None else MAX_WINDOW + 1
    rows = candle_store.units_window(
        session=session,
        symbol=symbol,
        timeframe=window.timeframe,
        limit=limit,
        from_ms=window.from_ms,
        to_ms=window.to_ms,
    )
    if window.limit is None and len(rows) > MAX_WINDOW:
        raise WindowTooLarge(
            f"more than {MAX_WINDOW} {window.timeframe} candles between from and to: narrow "
            "the window, or give a limit"
        )
    return rows


def require_symbol(*, session: Session, symbol: str) -> dict[str, int]:
    """The symbol's stored timeframes; UnknownSymbol when it has no candle at all."""
    found = stored_timeframes(session=session, symbol=symbol)
    if not found:
        raise UnknownSymbol(f"no candles of {symbol} are stored")
    return found


def timeframe_frames(
    *, session: Session, symbol: str, timeframes: list[str], limit: int, to_ms: int | None = None
) -> tuple[int, dict[str, CandleFrame]]:
    """(as_of_ms, {timeframe: candles}) for a multi-timeframe reading: the `limit` newest
    candles of the shortest timeframe up to `to_ms`, as of its last one's close, and of
    each longer one the `limit` newest closed by then. Raises NoCandles."""
    base, *longer = sorted(timeframes, key=timeframe_ms)
    frames = {
        base: read_window(session=session, symbol=symbol, window=Window(base, limit, None, to_ms))
    }
    if not len(frames[base]):
        raise NoCandles(base)
    as_of = int(frames[base].open_time_ms[-1]) + timeframe_ms(base)
    for timeframe in longer:
        closed_by = as_of - timeframe_ms(timeframe)
        window = Window(timeframe, limit, None, closed_by)
        frames[timeframe] = read_window(session=session, symbol=symbol, window=window)
        if not len(frames[timeframe]):
            raise NoCandles(timeframe)
    return as_of, frames


HOUR_MS = 3_600_000
REFERENCE_DAYS = 15  # of 1h candles for the previous day's and week's levels


def reference_frame(
    session: Session, symbol: str, frame: CandleFrame, timeframe: str
) -> CandleFrame:
    """Candles for the previous day's and week's levels as of the window's last close:
    the window itself from 1h up; below 1h, the 1h candles of the last 15 days closed by
    then, followed by the window's candles after the last of them."""
    length = timeframe_ms(timeframe)
    if length >= HOUR_MS:
        return frame
    close_ms = int(frame.open_time_ms[-1]) + length
    window = Window(timeframe="1h", limit=REFERENCE_DAYS * 24, to_ms=close_ms - HOUR_MS)
    hours = read_window(session=session, symbol=symbol, window=window)
    if not len(hours):
        return frame
    return CandleFrame.concat([hours, frame.after(int(hours.open_time_ms[-1]) + HOUR_MS - 1)])
