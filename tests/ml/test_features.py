"""The feature set is causal and its rows never change: cut the history, shuffle the
future, start the history later or compute candle by candle, and every row is the same."""

import numpy as np

from botdesk.ml import feature_columns, feature_set
from botdesk.ml.feature_set import BLOCK, WARMUP, compute, future_sensitive

FIVE_MINUTES = 300_000
HOUR = 3_600_000


def _same(a, b) -> None:
    common, left, right = np.intersect1d(a.open_time_ms, b.open_time_ms, return_indices=True)
    assert len(common) > 0
    for index, name in enumerate(a.names):
        assert np.array_equal(a.values[left, index], b.values[right, index], equal_nan=True), name


def test_every_column_is_known_from_the_past_only_on_candles_with_order_flow(btc_5m):
    frame = btc_5m[:1600]
    assert frame.has_flow
    rows = compute(frame, FIVE_MINUTES)
    assert rows.names == feature_set.names()
    # every family of columns has values here, so the check below checks each of them
    for name in ("rsi_14", "fvg_bull_dist", "poc_dist", "imbalance", "htf_rsi_14", "trend"):
        assert np.isfinite(rows.column(name)).any(), name
    for cut in (900, 1100, 1377):
        assert future_sensitive(frame, FIVE_MINUTES, cut) == []


def test_every_column_is_known_from_the_past_only_on_hourly_candles_with_gaps(btc_1h):
    frame = btc_1h[:2000]
    assert future_sensitive(frame, HOUR, 1500, seed=3) == []


def test_a_column_that_reads_the_next_candle_is_caught(btc_5m):
    def leaky(frame, candle_ms, first=0):
        columns = feature_columns.all_columns(frame, candle_ms, first)
        nxt = np.full(len(frame), np.nan)
        nxt[:-1] = frame.close[1:] / frame.close[:-1] - 1
        return columns | {"next_return": nxt}

    def centred(frame, candle_ms, first=0):  # a centred moving average: 2 candles ahead
        columns = feature_columns.all_columns(frame, candle_ms, first)
        mean = np.convolve(frame.close, np.ones(5) / 5, mode="same")
        return columns | {"centred_mean": mean}

    frame = btc_5m[:1200]
    assert future_sensitive(frame, FIVE_MINUTES, 1000, columns=leaky) == ["next_return"]
    assert future_sensitive(frame, FIVE_MINUTES, 1000, columns=centred) == ["centred_mean"]


def test_a_row_does_not_depend_on_where_the_history_starts(btc_5m):
    frame = btc_5m[:2000]
    _same(compute(frame, FIVE_MINUTES), compute(frame[437:], FIVE_MINUTES))


def test_rows_come_only_with_their_full_warm_up():
    count = 1000
    times = np.arange(count, dtype=np.int64) * HOUR
    close = 100 + np.cumsum(np.sin(np.arange(count)))
    from botdesk.engine.frames import CandleFrame

    frame = CandleFrame.from_arrays(times, close, close + 1, close - 1, close, np.ones(count))
    rows = compute(frame, HOUR)
    blocks = times // (BLOCK * HOUR)
    first_block_start = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
    first_full = first_block_start[first_block_start >= WARMUP][0]
    assert rows.open_time_ms[0] == times[first_full]
    assert rows.open_time_ms[-1] == times[-1]


def test_candle_by_candle_gives_the_rows_of_the_whole_history(btc_5m):
    frame = btc_5m[:1400]
    whole = compute(frame, FIVE_MINUTES)
    last = int(compute(frame[:1379], FIVE_MINUTES).open_time_ms[-1])
    grown = []
    for end in range(1380, 1401):
        new = compute(frame[:end], FIVE_MINUTES, after_ms=last)
        assert len(new) == 1  # only the candle that arrived
        grown.append(new)
        last = int(new.open_time_ms[-1])
    for new in grown:
        _same(new, whole)
