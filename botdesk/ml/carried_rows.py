"""Feature rows of new candles with the structure columns carried from the previous candle.

`CarriedRows.compute(frame, candle_ms, after_ms=...)` answers what
`feature_set.compute(frame, candle_ms, after_ms=...)` answers, the same rows and values:
the slices and the other columns are `feature_set`'s and `feature_columns`' own, only the
structure columns come from a `StructureReader` that has followed the slice of the latest
block so far, so a new candle costs one step of it instead of the swings, breaks, gaps
and blocks of the whole slice (about 2.6 of the 3.9 ms of a row, bench/ml_predict.py).
The first candle of a block starts a new slice, and a reader that has not followed this
one (a new memo, another market) reads it from its first candle.

A reader goes on only when the slice's candles are exactly those it read (times and
prices; the row memo checks the same of its whole frame, see `row_memo`), so a resent
candle, another market or a shuffled future is read afresh.
"""

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.ml import feature_columns, feature_set
from botdesk.ml.feature_set import FeatureRows
from botdesk.ml.structure_reader import NAMES, StructureReader


class CarriedRows:
    def __init__(self):
        self._reader: StructureReader | None = None
        self._values: list[tuple[float, ...]] = []  # the reader's rows, by slice position
        self._seen: tuple[np.ndarray, ...] = (np.empty(0),)  # the candles it read (copies)

    def compute(self, frame: CandleFrame, candle_ms: int, *, after_ms: int | None) -> FeatureRows:
        return feature_set.compute(frame, candle_ms, after_ms=after_ms, columns=self.columns)

    def columns(self, part: CandleFrame, candle_ms: int, first: int = 0) -> dict[str, np.ndarray]:
        """`feature_columns.all_columns(part, candle_ms, first)`, the structure columns of
        rows `first`.. read by the slice's reader (earlier rows left NaN)."""
        columns = (
            feature_columns.classic(part)
            | self._structure(part, first)
            | feature_columns.profile(part, first)
            | feature_columns.flow(part)
            | feature_columns.higher(part, candle_ms)
            | feature_columns.calendar(part)
        )
        return {name: columns[name] for name in feature_set.names()}

    def _follows(self, part: CandleFrame) -> bool:
        """The reader followed this slice: it read exactly the slice's first candles."""
        seen = self._seen
        count = len(seen[0])
        if self._reader is None or not count or count > len(part):
            return False
        return all(
            np.array_equal(mine, theirs[:count])
            for mine, theirs in zip(seen, _read(part), strict=True)
        )

    def _structure(self, part: CandleFrame, first: int) -> dict[str, np.ndarray]:
        if not self._follows(part):
            self._reader, self._values = StructureReader(), []
        reader = self._reader
        start = len(reader)
        candles = zip(*(values[start:].tolist() for values in _read(part)), strict=True)
        self._values += [reader.step(*candle) for candle in candles]
        self._seen = tuple(values.copy() for values in _read(part))
        out = np.full((len(part), len(NAMES)), np.nan)
        if first < len(part):
            out[first:] = self._values[first : len(part)]
        return {name: out[:, index] for index, name in enumerate(NAMES)}


def _read(part: CandleFrame) -> tuple[np.ndarray, ...]:
    """What the reader reads of a candle, in `StructureReader.step`'s order."""
    return part.open_time_ms, part.open, part.high, part.low, part.close
