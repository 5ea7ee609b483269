"""Feature rows and predictions remembered between calls, so a bot on the live window
computes the row of each new candle once instead of the whole window's rows on every
candle, and the bots of one market share that row.

`RowMemo.rows(frame, candle_ms)` answers exactly what `feature_set.compute(frame,
candle_ms)` answers (the same candles get rows, with the same values), from a memo when it
can:

- a memo is a copy of the candles it was computed over and their rows; it serves a frame
  only when the frame ends at or after the memo's last candle and the candles they share
  are identical (times, prices, volumes, order flow): a resent candle with other prices,
  another market, or a shuffled future never matches, and a frame cut before the memo's
  end (a lookahead check, a bot catching up) is computed afresh, so the memo cannot hide
  a column that reads a later candle;
- the rows of the frame's candles the memo holds are taken from it (only those `compute`
  gives over this frame: see `feature_set.covered`), the candles after the memo's last
  are computed with `compute(frame, after_ms=...)`, which gives a row the value the whole
  computation gives it (see `feature_set`), its structure columns stepped from the state
  the memo carries from the previous candle (see `carried_rows`); the memo then moves on
  to the frame;
- a frame that needs rows the memo does not hold (it starts earlier) is computed whole.

Predictions are remembered with the memo per model (and external series reading), so a
bot predicts one new row per candle. The tests compare the memo's rows with the full
computation candle by candle on real klines (tests/ml/test_row_memo.py).
"""

import threading
from collections.abc import Callable, Hashable

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.ml import feature_set
from botdesk.ml.carried_rows import CarriedRows
from botdesk.ml.feature_set import FeatureRows

KEEP_CANDLES = 2048  # a memo's candles: the live window plus a row's whole dependency
MEMOS = 32  # markets (and bots catching up) remembered at once


class _Memo:
    def __init__(
        self,
        candles: CandleFrame,
        rows: FeatureRows,
        carry: bool = True,
        last_rows: bool = True,
        one_pass: bool = True,
    ):
        self.candles, self.rows = candles, rows
        # the state carried from the previous candle; None: new rows computed whole
        self.carried = CarriedRows(last_rows, one_pass) if carry else None
        self.predictions: dict[Hashable, tuple[np.ndarray, np.ndarray]] = {}
        # the latest answer of `predicted` per key: (the rows object, its probabilities)
        self.answers: dict[Hashable, tuple[FeatureRows, np.ndarray]] = {}

    def move_to(self, frame: CandleFrame, rows: FeatureRows, candle_ms: int) -> None:
        """Hold the frame's last KEEP_CANDLES candles (a copy) and their rows."""
        if len(frame) > KEEP_CANDLES:
            frame = frame[-KEEP_CANDLES:]
            kept = frame.open_time_ms[feature_set.covered(frame.open_time_ms, candle_ms)]
            rows = _select(rows, kept)
        self.candles, self.rows = frame.copy(), rows
        first = int(rows.open_time_ms[0]) if len(rows) else None
        for key, (times, values) in list(self.predictions.items()):
            keep = times >= first if first is not None else np.zeros(len(times), dtype=bool)
            self.predictions[key] = (times[keep], values[keep])


def _same(a: CandleFrame, b: CandleFrame) -> bool:
    """The same candles, bit for bit (a NaN or a zero of another sign differs too: the
    frame is then computed afresh, never served wrongly)."""
    first, second = a.columns(), b.columns()
    if first.keys() != second.keys():
        return False
    return all(
        first[name].dtype == second[name].dtype and first[name].tobytes() == second[name].tobytes()
        for name in first
    )


def _overlap(memo: _Memo, frame: CandleFrame) -> bool:
    """The frame ends at or after the memo and holds the memo's candles unchanged."""
    seen = memo.candles
    if not len(frame) or not len(seen) or frame.open_time_ms[-1] < seen.open_time_ms[-1]:
        return False
    start = int(np.searchsorted(seen.open_time_ms, frame.open_time_ms[0]))
    at = int(np.searchsorted(frame.open_time_ms, seen.open_time_ms[0]))
    shared = len(seen) - start
    if shared <= 0 or at + shared > len(frame):
        return False
    return _same(seen[start:], frame[at : at + shared])


def _select(rows: FeatureRows, times: np.ndarray) -> FeatureRows:
    """The rows at these open times (all of them are in `rows`)."""
    at = np.searchsorted(rows.open_time_ms, times)
    return FeatureRows(rows.open_time_ms[at], rows.values[at], rows.names)


def _join(first: FeatureRows, second: FeatureRows) -> FeatureRows:
    if not len(second):
        return first
    if not len(first):
        return second
    return FeatureRows(
        np.concatenate([first.open_time_ms, second.open_time_ms]),
        np.vstack([first.values, second.values]),
        first.names,
    )


class RowMemo:
    def __init__(
        self, size: int = MEMOS, carry: bool = True, last_rows: bool = True, one_pass: bool = True
    ):
        """carry False: a new candle's row is computed over its whole slice, structure
        columns included (as before the structure reader); last_rows False: over its
        slice with the structure columns carried, and every bot's window searched in the
        memo (as before `last_row`); one_pass False: by `last_row` (as before
        `one_pass_row`). The bench (bench/ml_predict.py) compares them."""
        self._carry, self._last_rows, self._one_pass = carry, last_rows, one_pass
        self._lock = threading.Lock()
        self._memos: list[_Memo] = []  # most recently used last
        self._size = size

    def clear(self) -> None:
        with self._lock:
            self._memos.clear()

    def rows(self, frame: CandleFrame, candle_ms: int) -> tuple[FeatureRows, _Memo]:
        """`feature_set.compute(frame, candle_ms)`'s rows, and the memo now holding them."""
        with self._lock:
            for memo in reversed(self._memos):
                if not _overlap(memo, frame):
                    continue
                held = memo.rows
                seen = memo.candles
                same_end = (
                    len(frame) == len(seen) and frame.open_time_ms[-1] == seen.open_time_ms[-1]
                )
                if self._last_rows and same_end:
                    # its very candles (another bot's): the rows it holds
                    self._memos.remove(memo)
                    self._memos.append(memo)
                    return held, memo
                wanted = feature_set.covered(frame.open_time_ms, candle_ms)
                first_wanted = frame.open_time_ms[wanted][:1]
                if not len(held) or (len(first_wanted) and first_wanted[0] < held.open_time_ms[0]):
                    break  # the frame needs rows the memo does not hold: compute it whole
                last_seen = int(memo.candles.open_time_ms[-1])
                times = frame.open_time_ms[wanted]
                rows = _select(held, times[times <= last_seen])
                if frame.open_time_ms[-1] > last_seen:  # new candles: their rows, once
                    compute = memo.carried.compute if memo.carried else feature_set.compute
                    rows = _join(rows, compute(frame, candle_ms, after_ms=last_seen))
                    memo.move_to(frame, rows, candle_ms)
                self._memos.remove(memo)
                self._memos.append(memo)
                return rows, memo
            rows = feature_set.compute(frame, candle_ms)
            memo = _Memo(CandleFrame.empty(), rows, self._carry, self._last_rows, self._one_pass)
            memo.move_to(frame, rows, candle_ms)
            self._memos.append(memo)
            del self._memos[: -self._size]
            return rows, memo

    def predicted(
        self,
        memo: _Memo,
        key: Hashable,
        rows: FeatureRows,
        predict: Callable[[FeatureRows], np.ndarray],
    ) -> np.ndarray:
        """predict(rows) for these rows (a subset of the memo's), predicting only the rows
        this key has not predicted yet."""
        with self._lock:
            answered = memo.answers.get(key)
            if self._last_rows and answered is not None and answered[0] is rows:
                return answered[1]  # the same rows (another bot's window): the same answer
            answer = self._predicted(memo, key, rows, predict)
            answer.setflags(write=False)  # shared by the bots that ask for the same rows
            memo.answers[key] = (rows, answer)
            return answer

    @staticmethod
    def _predicted(memo: _Memo, key: Hashable, rows: FeatureRows, predict) -> np.ndarray:
        """The memo's predictions of these rows, predicting those it does not hold."""
        times, values = memo.predictions.get(key, (np.empty(0, np.int64), None))
        at = np.searchsorted(times, rows.open_time_ms)
        known = at < len(times)
        known[known] = times[at[known]] == rows.open_time_ms[known]
        if known.all():
            return values[at]
        fresh = ~known
        new = predict(FeatureRows(rows.open_time_ms[fresh], rows.values[fresh], rows.names))
        if values is None:
            values = np.empty((0, new.shape[1]))
        fresh_times = rows.open_time_ms[fresh]
        later = not len(times) or fresh_times[0] > times[-1]  # the live case: already in order
        times = np.concatenate([times, fresh_times])
        values = np.vstack([values, new])
        if not later:
            order = np.argsort(times, kind="stable")
            times, values = times[order], values[order]
        memo.predictions[key] = (times, values)
        return values[np.searchsorted(times, rows.open_time_ms)]


ROWS = RowMemo()
