"""Kline CSV files: loading and validation, with an error that names the line at fault.

Format (Binance klines as ../shared/data and the bundled sample have them): a header row
with at least `open_time_ms,open,high,low,close,volume`, one closed candle per line, sorted
by open time, no duplicates. Open times are UTC milliseconds on the interval's boundaries.
Binance's extra fields are kept when the header names them (`quote_volume`, `trades`,
`taker_buy_base_volume`, `taker_buy_quote_volume`, or Binance's own longer names); other
columns such as `close_time_ms` are ignored. A file without a header is read in Binance's
column order (open time, open, high, low, close, volume, close time, quote volume, trades,
taker-buy base volume, taker-buy quote volume, ignore: as many as the rows have), and open
times in microseconds (Binance's spot files since 2025) are read as milliseconds.

A plain file is read by pyarrow (`botdesk.engine.kline_columns`); anything unusual line by
line, which names the line at fault. Either way the same checks run on the columns. A file
read once is kept (up to `CACHED_FILES`, keyed by path, size and modification time): a
sweep of backtests over one history reads it once.

Gaps (missing candles) are real: exchanges have outages (the 1h files in ../shared/data
have five). A gap up to `max_gap_ms` is accepted and reported; a longer one is an error,
because indicators computed across it would silently join two different markets.
"""

import csv
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from botdesk.engine.frames import FLOW_COLUMNS, PRICE_COLUMNS, CandleFrame
from botdesk.engine.kline_columns import read_columns
from botdesk.engine.timeframes import FILE_INTERVALS, interval_name

REQUIRED_COLUMNS = ("open_time_ms", *PRICE_COLUMNS)
# Binance's kline fields in its order, as a file without a header has them
BINANCE_COLUMNS = (*REQUIRED_COLUMNS, "close_time_ms", *FLOW_COLUMNS, "ignore")
# Binance's API names for the same fields, read as ours
_ALIASES = {
    "open_time": "open_time_ms",
    "close_time": "close_time_ms",
    "quote_asset_volume": "quote_volume",
    "number_of_trades": "trades",
    "count": "trades",
    "taker_buy_base_asset_volume": "taker_buy_base_volume",
    "taker_buy_quote_asset_volume": "taker_buy_quote_volume",
}
_MICROSECONDS = 10**14  # an open time past this (year 5138 in ms) is in microseconds
DEFAULT_MAX_GAP_MS = 6 * 3_600_000  # longer than any Binance outage in the shared data
CACHED_FILES = 8
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]{2,20})(?:[-_](?P<interval>\d+[mhd]))?", re.IGNORECASE)


class KlineFileError(ValueError):
    """A kline file cannot be used; the message names the file and, where it can, the line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Gap:
    """Candles missing between line `line - 1` and `line`."""

    line: int
    after_ms: int
    before_ms: int
    missing: int


@dataclass(frozen=True)
class Klines:
    path: Path
    symbol: str | None
    interval: str
    interval_ms: int
    candles: CandleFrame
    gaps: list[Gap] = field(default_factory=list)


def format_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_duration(ms: int) -> str:
    minutes = ms // 60_000
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) or "0m"


def name_parts(path: Path) -> tuple[str | None, str | None]:
    """(symbol, interval) read from a name like BTCUSDT-1m.csv or ethusdt_1h.csv."""
    match = _NAME.match(path.stem)
    if match is None:
        return None, None
    interval = match.group("interval")
    return match.group("symbol").upper(), interval.lower() if interval else None


def load_klines(
    path: Path | str, *, max_gap_ms: int = DEFAULT_MAX_GAP_MS, interval: str | None = None
) -> Klines:
    """Read and validate a kline CSV. Raises KlineFileError naming the line at fault.
    A file read before (same size and modification time) is not read again: its candles
    are copied from the kept ones (a copy is a few milliseconds; a read, a hundred)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or not path.is_file():
        return _load(path, max_gap_ms, interval)
    kept = _cached(path.resolve(), stat.st_size, stat.st_mtime_ns, max_gap_ms, interval)
    return replace(kept, path=path, candles=kept.candles.copy(), gaps=list(kept.gaps))


@lru_cache(maxsize=CACHED_FILES)
def _cached(path: Path, _size: int, _mtime_ns: int, max_gap_ms: int, interval: str | None):
    klines = _load(path, max_gap_ms, interval)
    klines.candles.freeze()
    return klines


def _load(path: Path, max_gap_ms: int, interval: str | None) -> Klines:
    open_time, prices, flow, lines = _columns(path)
    frame = CandleFrame.from_arrays(open_time, *(prices[name] for name in PRICE_COLUMNS), **flow)
    _check_prices(path, frame, lines)
    if frame.taker_buy_base_volume is not None:
        _first(
            path,
            frame.taker_buy_base_volume > frame.volume,
            lines,
            lambda i: (
                f"taker_buy_base_volume {frame.taker_buy_base_volume[i]:g} is above the "
                f"volume {frame.volume[i]:g}"
            ),
        )
    _check_order(path, frame, lines)
    symbol, named_interval = name_parts(path)
    interval_ms = _interval(path, frame, interval or named_interval)
    gaps = _check_times(path, frame, lines, interval_ms, max_gap_ms)
    return Klines(path, symbol, interval_name(interval_ms), interval_ms, frame, gaps)


def _columns(path: Path) -> tuple[np.ndarray, dict, dict, np.ndarray]:
    """Open times, prices, Binance's extra fields the file has, and the line of each row:
    by pyarrow for a plain file with a header, line by line (naming the line of any fault)
    otherwise."""
    if not path.exists():
        raise KlineFileError(path, "no such file")
    if not path.is_file():
        raise KlineFileError(path, "not a file")
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)].rstrip(b"\r")  # not split: a copy
    first = first.decode("ascii", "replace")
    header = [
        _ALIASES.get(name.strip().lower(), name.strip().lower())
        for name in next(csv.reader([first]), [])
    ]
    if header and all(name in header for name in REQUIRED_COLUMNS):
        flow_columns = [name for name in FLOW_COLUMNS if name in header]
        fast = read_columns(data, header, flow_columns)
        if fast is not None and fast[0].max() < _MICROSECONDS:
            times, prices, flow = fast
            return times, prices, flow, np.arange(2, len(times) + 2, dtype=np.int64)
    header, rows, lines = _read(path)
    columns = {name: index for index, name in enumerate(header)}
    if not rows:
        raise KlineFileError(path, "no candles: the file has a header but no rows")
    open_time = _times(path, [row[columns["open_time_ms"]] for row in rows], lines)
    if open_time.max() >= _MICROSECONDS:
        open_time = open_time // 1000
    prices = {
        name: _numbers(path, name, [row[columns[name]] for row in rows], lines)
        for name in PRICE_COLUMNS
    }
    flow = {
        name: _flow(path, name, [row[columns[name]] for row in rows], lines)
        for name in FLOW_COLUMNS
        if name in columns
    }
    return open_time, prices, flow, lines


def _read(path: Path) -> tuple[list[str], list[list[str]], np.ndarray]:
    if not path.exists():
        raise KlineFileError(path, "no such file")
    if not path.is_file():
        raise KlineFileError(path, "not a file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise KlineFileError(path, "the file is empty")
            rows, lines = [], []
            if header and header[0].strip().isdigit():  # no header: Binance's order
                rows.append(header)
                lines.append(reader.line_num)
                header = list(BINANCE_COLUMNS[: len(header)])
            header = [_ALIASES.get(name.strip().lower(), name.strip().lower()) for name in header]
            _check_header(path, header)
            for row in reader:
                if not row or all(not value.strip() for value in row):
                    continue
                if len(row) != len(header):
                    raise KlineFileError(
                        path,
                        f"{len(row)} fields where the header has {len(header)}",
                        line=reader.line_num,
                    )
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise KlineFileError(path, "not a text (UTF-8) CSV file") from None
    except csv.Error as error:
        raise KlineFileError(path, f"not a valid CSV file ({error})") from None
    return header, rows, np.asarray(lines, dtype=np.int64)


def _check_header(path: Path, header: list[str]) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise KlineFileError(
            path,
            f"missing column(s) {', '.join(missing)}: a kline file needs the header "
            f"{','.join(REQUIRED_COLUMNS)} (found {','.join(header) or 'nothing'})",
            line=1,
        )


def _times(path: Path, values: list[str], lines: np.ndarray) -> np.ndarray:
    try:
        return np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        for index, value in enumerate(values):
            try:
                int(value)
            except ValueError:
                raise KlineFileError(
                    path,
                    f"open_time_ms {value!r} is not a whole number of milliseconds",
                    line=int(lines[index]),
                ) from None
        raise


def _numbers(path: Path, name: str, values: list[str], lines: np.ndarray) -> np.ndarray:
    try:
        numbers = np.array(values, dtype=np.float64)
    except ValueError:
        for index, value in enumerate(values):
            try:
                float(value)
            except ValueError:
                raise KlineFileError(
                    path, f"{name} {value!r} is not a number", line=int(lines[index])
                ) from None
        raise
    bad = ~np.isfinite(numbers)
    if bad.any():
        index = int(np.argmax(bad))
        raise KlineFileError(
            path, f"{name} {values[index]!r} is not a finite number", line=int(lines[index])
        )
    return numbers


def _flow(path: Path, name: str, values: list[str], lines: np.ndarray) -> np.ndarray:
    """An extra Binance field: a number at or above 0 (a whole one for the trade count),
    NaN where the cell is empty."""
    present = np.array([bool(value.strip()) for value in values])
    numbers = np.full(len(values), np.nan)
    if present.any():
        chosen = [value for value, known in zip(values, present, strict=True) if known]
        numbers[present] = _numbers(path, name, chosen, lines[present])
    with np.errstate(invalid="ignore"):
        bad = numbers < 0
        if name == "trades":
            bad |= present & (numbers != np.floor(numbers))
    what = "a whole number at or above 0" if name == "trades" else "at or above 0"
    _first(path, bad, lines, lambda i: f"{name} {values[i]!r} is not {what}")
    return numbers


def _first(path: Path, bad: np.ndarray, lines: np.ndarray, message) -> None:
    if bad.any():
        index = int(np.argmax(bad))
        raise KlineFileError(path, message(index), line=int(lines[index]))


def _check_prices(path: Path, frame: CandleFrame, lines: np.ndarray) -> None:
    for name in ("open", "high", "low", "close"):
        values = getattr(frame, name)
        _first(path, values <= 0, lines, lambda i, n=name, v=values: f"{n} {v[i]:g} is not above 0")
    _first(
        path,
        frame.volume < 0,
        lines,
        lambda i: f"volume {frame.volume[i]:g} is negative",
    )
    _first(
        path,
        frame.high < np.maximum(frame.open, frame.close),
        lines,
        lambda i: f"high {frame.high[i]:g} is below the open or the close",
    )
    _first(
        path,
        frame.low > np.minimum(frame.open, frame.close),
        lines,
        lambda i: f"low {frame.low[i]:g} is above the open or the close",
    )


def _interval(path: Path, frame: CandleFrame, named: str | None) -> int:
    """The most common step between open times; it must agree with the name, if any."""
    steps = np.diff(frame.open_time_ms)
    positive = steps[steps > 0]
    if not len(positive):
        if named in FILE_INTERVALS:
            return FILE_INTERVALS[named]
        raise KlineFileError(
            path,
            "cannot tell the candle interval from a single open time: "
            "name the file SYMBOL-<interval>.csv (e.g. BTCUSDT-1m.csv)",
        )
    step = _most_common(positive)
    if step not in FILE_INTERVALS.values():
        known = ", ".join(FILE_INTERVALS)
        raise KlineFileError(
            path,
            f"candles are mostly {format_duration(step)} apart, which is not an interval "
            f"botdesk knows ({known})",
        )
    if named is not None and FILE_INTERVALS.get(named) != step:
        raise KlineFileError(
            path, f"the name says {named} candles but they are {interval_name(step)} apart"
        )
    return step


def _most_common(values: np.ndarray) -> int:
    """The most common value (the smallest of the most common): the first value itself when
    more than half are it, as in a file of evenly spaced candles, without a sort."""
    if np.count_nonzero(values == values[0]) * 2 > len(values):
        return int(values[0])
    found, counts = np.unique(values, return_counts=True)
    return int(found[np.argmax(counts)])


def _off_boundary(times: np.ndarray, steps: np.ndarray, interval_ms: int) -> np.ndarray:
    """A mask whose first True is the first time off the interval's boundaries (that of
    times % interval_ms != 0), from the first time and the steps: past the first time,
    the first one off is where steps[i - 1] is not a multiple of the interval (the time
    before is on one), and only steps other than the interval need the (slow) modulo."""
    off = np.zeros(len(times), dtype=bool)
    off[:1] = times[:1] % interval_ms != 0
    odd = np.flatnonzero(steps != interval_ms)
    off[odd[steps[odd] % interval_ms != 0] + 1] = True
    return off


def _check_order(path: Path, frame: CandleFrame, lines: np.ndarray) -> None:
    times = frame.open_time_ms
    steps = np.diff(times)
    later = lines[1:]
    _first(
        path,
        steps == 0,
        later,
        lambda i: (
            f"duplicate open time {times[i + 1]} ({format_ms(times[i + 1])}), "
            f"already on line {lines[i]}"
        ),
    )
    _first(
        path,
        steps < 0,
        later,
        lambda i: (
            f"open time {format_ms(times[i + 1])} is earlier than line {lines[i]}'s "
            f"{format_ms(times[i])}: the file must be sorted by open time"
        ),
    )


def _check_times(
    path: Path, frame: CandleFrame, lines: np.ndarray, interval_ms: int, max_gap_ms: int
) -> list[Gap]:
    times = frame.open_time_ms
    steps = np.diff(times)
    _first(
        path,
        _off_boundary(times, steps, interval_ms),
        lines,
        lambda i: (
            f"open time {times[i]} ({format_ms(times[i])}) is not on a "
            f"{interval_name(interval_ms)} boundary"
        ),
    )
    later = lines[1:]
    gaps = [
        Gap(
            line=int(later[i]),
            after_ms=int(times[i]),
            before_ms=int(times[i + 1]),
            missing=int(steps[i] // interval_ms) - 1,
        )
        for i in np.flatnonzero(steps > interval_ms)
    ]
    for gap in gaps:
        if gap.before_ms - gap.after_ms - interval_ms > max_gap_ms:
            raise KlineFileError(
                path,
                f"gap of {format_duration(gap.before_ms - gap.after_ms - interval_ms)} "
                f"({gap.missing} candles missing) between {format_ms(gap.after_ms)} and "
                f"{format_ms(gap.before_ms)}; at most {format_duration(max_gap_ms)} is allowed",
                line=gap.line,
            )
    return gaps
