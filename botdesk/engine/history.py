"""Candle history from outside the engine, stored in the candle table: a kline file
(`botdesk data import`) or Binance's public klines (`botdesk data download`).

An import checks the whole file before it writes anything: the first bad line stops it,
named, and nothing is stored. It also stores the higher timeframes built from the file's
candles (complete buckets only: a bucket the file covers only partly at either end is
left out), so the analysis of every timeframe has data. A download writes each page in its
own transaction, so an interrupted one keeps what it fetched, and starts again at the first
candle of the range not yet stored.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from botdesk.db import candles as candle_store
from botdesk.db.session import Database
from botdesk.engine.feeds.binance_history import kline_pages
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import Gap, load_klines, name_parts
from botdesk.engine.market import candle_rows
from botdesk.engine.timeframes import TIMEFRAMES, aggregate, timeframe_ms

NO_GAP_LIMIT = 10**15  # an import stores what the exchange gave, outages and all


class HistoryError(ValueError):
    """The history cannot be stored as asked; the message says why."""


@dataclass(frozen=True)
class Stored:
    """What an import or a download wrote: candles of the timeframe asked for (`new` of
    them not stored before), and of each higher timeframe built from them."""

    timeframe: str
    count: int
    new: int
    first_ms: int | None
    last_ms: int | None
    higher: dict[str, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)


def higher_timeframes(frame: CandleFrame, timeframe: str) -> dict[str, CandleFrame]:
    """The complete candles of every trading timeframe longer than `timeframe` that is a
    whole multiple of it, built from `frame`."""
    length = timeframe_ms(timeframe)
    built = {}
    for name, target in TIMEFRAMES.items():
        if target <= length or target % length or not len(frame):
            continue
        first = int(frame.open_time_ms[0])
        whole = frame.after(-(-first // target) * target - 1)  # from the first bucket start
        built[name] = aggregate(whole, name, source_interval_ms=length)  # closed ones only
    return built


def _store(db: Database, symbol: str, timeframe: str, frame: CandleFrame, higher: bool) -> dict:
    """Write `frame` (and its higher timeframes) in one transaction; counts per timeframe
    and how many of `frame`'s candles were new."""
    first, last = int(frame.open_time_ms[0]), int(frame.open_time_ms[-1])
    built = {timeframe: frame, **(higher_timeframes(frame, timeframe) if higher else {})}
    with db.writing() as session:
        known = candle_store.open_times(
            session=session, symbol=symbol, timeframe=timeframe, from_ms=first, to_ms=last
        )
        candle_store.upsert(session=session, candles=candle_rows(symbol, built))
    new = len(frame) - int(np.isin(frame.open_time_ms, known).sum())
    return {"new": new, **{name: len(part) for name, part in built.items()}}


def import_file(
    db: Database, path: Path | str, *, symbol: str, timeframe: str, higher: bool = True
) -> Stored:
    """Store a kline file's candles as `symbol` `timeframe` (see the module docstring).
    Raises HistoryError, or KlineFileError naming the line at fault."""
    timeframe_ms(timeframe)
    named_symbol, named_interval = name_parts(Path(path))
    if named_interval is not None and named_symbol != symbol:
        raise HistoryError(f"{path} is named for {named_symbol} klines, not {symbol}")
    klines = load_klines(path, max_gap_ms=NO_GAP_LIMIT)
    if klines.interval != timeframe:
        raise HistoryError(f"{path} holds {klines.interval} candles, not {timeframe}")
    frame = klines.candles
    counts = _store(db, symbol, timeframe, frame, higher)
    return Stored(
        timeframe,
        len(frame),
        counts["new"],
        int(frame.open_time_ms[0]),
        int(frame.open_time_ms[-1]),
        {name: count for name, count in counts.items() if name not in ("new", timeframe)},
        klines.gaps,
    )


def first_missing(
    db: Database, *, symbol: str, timeframe: str, from_ms: int, to_ms: int
) -> int | None:
    """Open time of the first candle of the range not stored yet (None: all are)."""
    length = timeframe_ms(timeframe)
    start = -(-from_ms // length) * length
    with db.reading() as session:
        known = candle_store.open_times(
            session=session, symbol=symbol, timeframe=timeframe, from_ms=start, to_ms=to_ms
        )
    expected = np.arange(start, to_ms + 1, length, dtype=np.int64)
    missing = expected[~np.isin(expected, np.asarray(known, dtype=np.int64))]
    return int(missing[0]) if len(missing) else None


def download(
    db: Database,
    rest,
    *,
    symbol: str,
    timeframe: str,
    from_ms: int,
    to_ms: int,
    on_page: Callable[[CandleFrame], None] | None = None,
    **paging,
) -> Stored:
    """Fetch and store Binance's `timeframe` klines of `symbol` in [from_ms, to_ms],
    starting at the first candle not stored yet. `paging` goes to `kline_pages`.
    Raises DownloadStopped (what was stored stays)."""
    start = first_missing(db, symbol=symbol, timeframe=timeframe, from_ms=from_ms, to_ms=to_ms)
    count = new = 0
    first = last = None
    if start is not None:
        pages = kline_pages(
            rest, symbol=symbol, timeframe=timeframe, from_ms=start, to_ms=to_ms, **paging
        )
        for page in pages:
            new += _store(db, symbol, timeframe, page, higher=False)["new"]
            count += len(page)
            first = int(page.open_time_ms[0]) if first is None else first
            last = int(page.open_time_ms[-1])
            if on_page is not None:
                on_page(page)
    return Stored(timeframe, count, new, first, last)
