"""Feature rows of new candles from state carried from the previous candle.

`CarriedRows.compute(frame, candle_ms, after_ms=...)` answers what
`feature_set.compute(frame, candle_ms, after_ms=...)` answers, the same rows and values:

- the structure columns come from a `StructureReader` that has followed the slice of the
  latest block so far, so a new candle costs one step of it instead of the swings,
  breaks, gaps and blocks of the whole slice;
- the live case, one new candle, is that candle's row alone (`one_pass_row`: the other
  columns at the slice's last candle in a few calls, not the slice's every row);
- a block's slice starts WARMUP candles before the block's first candle (before the
  previous block's first one: WARMUP > BLOCK), so its reader starts reading there, one
  candle per candle beside the current one: when the block begins, its WARMUP candles
  are read already and its first candle costs one step, not WARMUP of them (a gap in
  the candles there makes it read afresh, see below);
- several new candles (catching up) are computed by `feature_set.compute` over their
  slices, `feature_columns`' columns with the structure ones read by the reader.

A reader goes on only when the slice's candles are exactly those it read (times and
prices; the row memo checks the same of its whole frame, see `row_memo`), so a resent
candle, another market or a shuffled future is read afresh.
"""

from functools import cache

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.ml import feature_columns, feature_set, one_pass_row
from botdesk.ml.feature_set import BLOCK, WARMUP, FeatureRows
from botdesk.ml.last_row import last_row
from botdesk.ml.structure_reader import NAMES, StructureReader


class _Follower:
    """A structure reader, the candles it read (their bytes) and its rows, by slice
    position."""

    def __init__(self):
        self.reader = StructureReader()
        self.values: list[tuple[float, ...]] = []
        self.seen: tuple[bytes, ...] = ()

    def follows(self, part: CandleFrame) -> bool:
        """It read exactly the first candles of `part` (at least one), bit for bit."""
        count = len(self.reader)
        if not count or count > len(part):
            return False
        return all(
            mine == theirs[:count].tobytes()
            for mine, theirs in zip(self.seen, _read(part), strict=True)
        )

    def read(self, part: CandleFrame) -> None:
        """Step the candles of `part` after those it read (it follows `part`)."""
        start = len(self.reader)
        candles = zip(*(values[start:].tolist() for values in _read(part)), strict=True)
        self.values += [self.reader.step(*candle) for candle in candles]
        self.seen = tuple(values.tobytes() for values in _read(part))


class CarriedRows:
    def __init__(self, last_rows: bool = True, one_pass: bool = True):
        """last_rows False: a new candle's row over its whole slice with only the structure
        columns carried, and no reading ahead (as before `last_row`); one_pass False: the
        new candle's row by `last_row` (as before `one_pass_row`). The bench compares."""
        self._last_rows, self._one_pass = last_rows, one_pass
        self._current = _Follower()  # the latest block's slice
        self._ahead: dict[int, _Follower] = {}  # the next blocks' slices by first open time

    def compute(self, frame: CandleFrame, candle_ms: int, *, after_ms: int | None) -> FeatureRows:
        times = frame.open_time_ms
        one_new = after_ms is not None and len(frame) > 1 and times[-2] <= after_ms < times[-1]
        if self._last_rows and one_new:
            return self._new_row(frame, candle_ms)
        return feature_set.compute(frame, candle_ms, after_ms=after_ms, columns=self.columns)

    def columns(self, part: CandleFrame, candle_ms: int, first: int = 0) -> dict[str, np.ndarray]:
        """`feature_columns.all_columns(part, candle_ms, first)`, the structure columns of
        rows `first`.. read by the slice's reader (earlier rows left NaN)."""
        values = self._structure(part)
        out = np.full((len(part), len(NAMES)), np.nan)
        if first < len(part):
            out[first:] = values[first : len(part)]
        columns = (
            feature_columns.classic(part)
            | {name: out[:, index] for index, name in enumerate(NAMES)}
            | feature_columns.profile(part, first)
            | feature_columns.flow(part)
            | feature_columns.higher(part, candle_ms)
            | feature_columns.calendar(part)
        )
        return {name: columns[name] for name in feature_set.names()}

    def _new_row(self, frame: CandleFrame, candle_ms: int) -> FeatureRows:
        """The row of the frame's last candle, if its block has its WARMUP candles."""
        times = frame.open_time_ms
        block_ms = BLOCK * candle_ms
        start = int(np.searchsorted(times, times[-1] // block_ms * block_ms))
        names = feature_set.names()
        if start < WARMUP:
            return FeatureRows(np.empty(0, np.int64), np.empty((0, len(names))), names)
        part = frame[start - WARMUP :]
        structure = self._structure(part)[-1]
        self._read_ahead(part, candle_ms)
        if not self._one_pass:
            values = last_row(part, candle_ms) | dict(zip(NAMES, structure, strict=True))
            row = np.array([[values[name] for name in names]], dtype=np.float64)
            return FeatureRows(times[-1:].copy(), row, names)
        row = np.empty((1, len(names)))
        row[0, _places(names, one_pass_row.COLUMNS)] = one_pass_row.row(part, candle_ms)
        row[0, _places(names, NAMES)] = structure
        return FeatureRows(times[-1:].copy(), row, names)

    def _structure(self, part: CandleFrame) -> list[tuple[float, ...]]:
        """The structure rows of the slice `part`, by its reader (the one read ahead when
        it followed this slice, else a new one)."""
        if not self._current.follows(part):
            ahead = self._ahead.pop(int(part.open_time_ms[0]), None)
            self._current = ahead if ahead is not None and ahead.follows(part) else _Follower()
        self._current.read(part)
        return self._current.values

    def _read_ahead(self, part: CandleFrame, candle_ms: int) -> None:
        """Step the readers of the next blocks' slices that have begun: a slice's first
        candle is WARMUP candle lengths before its block's first candle (when it is there:
        no gap), which is before the current block's first candle, so up to
        WARMUP // BLOCK + 1 of them are read beside the current one."""
        block_ms = BLOCK * candle_ms
        block = int(part.open_time_ms[-1]) // block_ms
        following = {}
        for later in range(block + 1, block + WARMUP // BLOCK + 2):
            first = later * block_ms - WARMUP * candle_ms
            at = int(np.searchsorted(part.open_time_ms, first))
            if at >= len(part) or part.open_time_ms[at] != first:
                continue
            ahead = part[at:]
            reader = self._ahead.get(first)
            if reader is None or not reader.follows(ahead):
                reader = _Follower()
            reader.read(ahead)
            following[first] = reader
        self._ahead = following


@cache
def _places(names: tuple[str, ...], columns: tuple[str, ...]) -> np.ndarray:
    """Where these columns are in a row of `names`."""
    return np.array([names.index(name) for name in columns])


def _read(part: CandleFrame) -> tuple[np.ndarray, ...]:
    """What the reader reads of a candle, in `StructureReader.step`'s order."""
    return part.open_time_ms, part.open, part.high, part.low, part.close
