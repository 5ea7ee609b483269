"""The versioned feature set, and how its rows are computed so that a row never changes.

A row's value must not depend on how much history was loaded or on when it was computed
(at once over years, or candle by candle as they arrive). The recursive indicators (EMA,
RSI, ATR...) depend on where their input starts, so every row is computed over a slice
that starts at a fixed place: candles are grouped in **blocks** of `BLOCK` candles aligned
to multiples of BLOCK x the timeframe since the epoch (UTC), and the rows of a block are
computed over the `WARMUP` candles before the block's first candle plus the block's
candles up to the row. A row is therefore a function of candles it can see (never a later
one) and of the block grid; a row whose block has fewer than WARMUP candles before it in
the history is not produced (it would change once more history is loaded).

A change to what a column means is a new `VERSION`: the store keeps each version's
fingerprint (the column names, the block grid and the syntax tree of
`feature_columns.py`) and refuses to add rows to a version whose definition changed.
"""

import ast
import hashlib
import inspect
import json
from dataclasses import dataclass
from functools import cache

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.ml import feature_columns

VERSION = 1
BLOCK = 256
WARMUP = 300


@dataclass(frozen=True)
class FeatureRows:
    """Rows of the feature set: open times (int64 ms) and a float64 matrix, one column
    per name (NaN where a column has no value yet)."""

    open_time_ms: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.open_time_ms)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def after(self, open_time_ms: int | None) -> "FeatureRows":
        if open_time_ms is None:
            return self
        keep = self.open_time_ms > open_time_ms
        return FeatureRows(self.open_time_ms[keep], self.values[keep], self.names)


@cache
def names() -> tuple[str, ...]:
    """The column names in their stored order (from a computation over a small frame)."""
    count = 8
    times = np.arange(count, dtype=np.int64) * 3_600_000
    prices = np.linspace(100.0, 101.0, count)
    frame = CandleFrame.from_arrays(times, prices, prices + 1, prices - 1, prices, prices)
    return tuple(feature_columns.all_columns(frame, 3_600_000))


@cache
def fingerprint() -> str:
    source = inspect.getsource(feature_columns)
    spec = {
        "version": VERSION,
        "names": names(),
        "block": BLOCK,
        "warmup": WARMUP,
        "columns": ast.dump(ast.parse(source)),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def block_of(open_time_ms: np.ndarray, candle_ms: int) -> np.ndarray:
    return np.asarray(open_time_ms, dtype=np.int64) // (BLOCK * candle_ms)


def covered(open_time_ms: np.ndarray, candle_ms: int) -> np.ndarray:
    """Which of these candles `compute` gives a row over them: those whose block starts
    at least WARMUP candles into them."""
    blocks = block_of(open_time_ms, candle_ms)
    if not len(blocks):
        return np.zeros(0, dtype=bool)
    # where the blocks start (np.r_ costs more than the rest here, on every live candle)
    starts = np.flatnonzero(np.concatenate(([True], blocks[1:] != blocks[:-1])))
    lengths = np.diff(starts, append=len(blocks))
    return np.repeat(starts >= WARMUP, lengths)


def compute(
    frame: CandleFrame, candle_ms: int, *, after_ms: int | None = None, columns=None
) -> FeatureRows:
    """The feature rows of `frame`'s candles that have their full warm-up, only those
    opened after `after_ms` when it is given. `columns` replaces
    `feature_columns.all_columns` (the leakage tests pass a faulty one)."""
    columns = columns or feature_columns.all_columns
    count = len(frame)
    column_names = names() if columns is feature_columns.all_columns else None
    if not count:
        return FeatureRows(np.empty(0, np.int64), np.empty((0, len(names()))), names())
    blocks = block_of(frame.open_time_ms, candle_ms)
    starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
    ends = np.r_[starts[1:], count]
    wanted = np.ones(count, dtype=bool)
    if after_ms is not None:
        wanted = frame.open_time_ms > after_ms
    times, parts = [], []
    for start, end in zip(starts, ends, strict=True):
        if start < WARMUP or not wanted[start:end].any():
            continue
        keep = wanted[start:end]
        # rows before the first wanted one are not needed: the costly columns skip them
        needed = WARMUP + int(np.argmax(keep))
        computed = columns(frame[start - WARMUP : end], candle_ms, needed)
        if column_names is None:
            column_names = tuple(computed)
        matrix = np.column_stack([computed[name] for name in column_names])[WARMUP:]
        times.append(frame.open_time_ms[start:end][keep])
        parts.append(matrix[keep])
    column_names = column_names or names()
    if not parts:
        return FeatureRows(np.empty(0, np.int64), np.empty((0, len(column_names))), column_names)
    return FeatureRows(np.concatenate(times), np.vstack(parts), column_names)


def future_sensitive(
    frame: CandleFrame, candle_ms: int, cut: int, *, columns=None, seed: int = 0
) -> list[str]:
    """The columns whose rows before candle `cut` change when the candles from `cut` on
    are cut off or shuffled: empty for a causal feature set (the lookahead check)."""
    whole = compute(frame, candle_ms, columns=columns)
    cut_ms = int(frame.open_time_ms[cut])
    before = whole.open_time_ms < cut_ms
    order = np.random.default_rng(seed).permutation(len(frame) - cut) + cut
    shuffled = np.r_[np.arange(cut), order]
    prices = {
        name: getattr(frame, name)[shuffled] for name in ("open", "high", "low", "close", "volume")
    }
    flow = {
        name: values[shuffled]
        for name, values in frame.columns().items()
        if name not in prices and name != "open_time_ms"
    }
    mixed = CandleFrame.from_arrays(frame.open_time_ms, **prices, **flow)
    changed = set()
    for other in (frame[:cut], mixed):
        other = compute(other, candle_ms, columns=columns)
        mine = whole.values[before]
        theirs = other.values[other.open_time_ms < cut_ms]
        if mine.shape != theirs.shape:
            return list(whole.names)
        for index, name in enumerate(whole.names):
            if not np.array_equal(mine[:, index], theirs[:, index], equal_nan=True):
                changed.add(name)
    return [name for name in whole.names if name in changed]
