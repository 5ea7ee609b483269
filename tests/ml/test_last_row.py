"""The live candle's row alone (`last_row`) is, column by column and to the last bit, the
row the full computation gives that candle, and it reads no later candle."""

import numpy as np
import pytest

from botdesk.engine.market import WINDOW_CANDLES
from botdesk.ml import feature_columns, feature_set
from botdesk.ml.carried_rows import CarriedRows
from botdesk.ml.last_row import last_row
from botdesk.ml.structure_reader import NAMES

FIVE_MINUTES = 300_000
HOUR = 3_600_000
SLICE = feature_set.WARMUP + feature_set.BLOCK


@pytest.mark.parametrize(("fixture", "candle_ms"), [("btc_1h", HOUR), ("btc_5m", FIVE_MINUTES)])
def test_every_column_is_the_full_computations_to_the_last_bit(request, fixture, candle_ms):
    candles = request.getfixturevalue(fixture)  # 5m: with order flow; 1h: with gaps
    for end in range(SLICE, len(candles), 37):  # every slice length, every place in a day
        part = candles[end - feature_set.WARMUP - (end % feature_set.BLOCK) - 1 : end]
        full = feature_columns.all_columns(part, candle_ms, len(part) - 1)
        row = last_row(part, candle_ms)
        assert set(row) == set(feature_set.names()) - set(NAMES)
        for name, value in row.items():
            expected = full[name][-1]
            # bit for bit: the same float64, or NaN where it is NaN
            assert np.float64(value).tobytes() == expected.tobytes() or (
                np.isnan(value) and np.isnan(expected)
            ), (name, end, value, expected)


@pytest.mark.parametrize(("fixture", "candle_ms"), [("btc_1h", HOUR), ("btc_5m", FIVE_MINUTES)])
def test_a_candles_row_is_the_same_with_the_history_cut_after_it(request, fixture, candle_ms):
    candles = request.getfixturevalue(fixture)[:2400]
    whole = feature_set.compute(candles, candle_ms)
    carried = CarriedRows()
    for end in range(1800, 2400):  # the live window candle after candle, read ahead too
        window = candles[end - WINDOW_CANDLES : end]
        rows = carried.compute(window, candle_ms, after_ms=int(window.open_time_ms[-2]))
        at = int(np.searchsorted(whole.open_time_ms, rows.open_time_ms[0]))
        assert np.array_equal(rows.values[0], whole.values[at], equal_nan=True)
        if end % 97 == 0:  # the history cut right after the candle: the same row
            cut = feature_set.compute(candles[:end], candle_ms)
            assert np.array_equal(rows.values[0], cut.values[-1], equal_nan=True)
