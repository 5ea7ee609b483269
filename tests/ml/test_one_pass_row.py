"""The live candle's row in one compiled pass (`one_pass_row`) is, column by column and to
the last bit, the row the full computation gives that candle: on real klines (with
exchange outages, with and without order flow) and on candles edited into the cases its
branches take (flat candles, a flat profile window, a day without volume)."""

import numpy as np
import pytest

from botdesk.engine.frames import CandleFrame
from botdesk.engine.market import WINDOW_CANDLES
from botdesk.ml import feature_columns, feature_set, one_pass_row
from botdesk.ml.carried_rows import CarriedRows
from tests.ml.conftest import shared_candles

FIVE_MINUTES = 300_000
HOUR = 3_600_000
SLICE = feature_set.WARMUP + feature_set.BLOCK


def _assert_bit_equal(part: CandleFrame, candle_ms: int) -> None:
    full = feature_columns.all_columns(part, candle_ms, len(part) - 1)
    row = one_pass_row.row(part, candle_ms)
    assert len(row) == len(one_pass_row.COLUMNS)
    for name, value in zip(one_pass_row.COLUMNS, row, strict=True):
        expected = full[name][-1]
        # bit for bit: the same float64, or NaN where it is NaN
        assert value.tobytes() == expected.tobytes() or (np.isnan(value) and np.isnan(expected)), (
            name,
            len(part),
            value,
            expected,
        )


@pytest.mark.parametrize(
    ("name", "candle_ms"),
    [("BTCUSDT-1h.csv", HOUR), ("ETHUSDT-1h.csv", HOUR), ("BTCUSDT-5m.csv", FIVE_MINUTES)],
)
def test_every_column_is_the_full_computations_to_the_last_bit(name, candle_ms):
    candles = shared_candles(name)  # 1h: with gaps; 5m: with order flow
    for end in range(SLICE + 5, len(candles), 29):  # every slice length, every hour
        part = candles[end - feature_set.WARMUP - (end % feature_set.BLOCK) - 1 : end]
        _assert_bit_equal(part, candle_ms)


def _edited(part: CandleFrame, at: slice, **columns) -> CandleFrame:
    """`part` with these columns' values replaced over `at`."""
    arrays = {name: values.copy() for name, values in part.columns().items()}
    for name, value in columns.items():
        arrays[name][at] = value
    return CandleFrame(**arrays)


def test_flat_candles_a_flat_window_and_a_day_without_volume(btc_5m):
    part = btc_5m[1000 : 1000 + SLICE]
    price = float(part.close[-200])
    flat = {name: price for name in ("open", "high", "low", "close")}
    cases = [
        _edited(part, slice(-130, None), **flat),  # the profile's window one price
        _edited(part, slice(-50, None, 3), **flat),  # flat candles among ranged ones
        _edited(part, slice(-40, None, 2), **flat, volume=0.0),  # flat and without volume
        _edited(part, slice(-300, None), volume=0.0),  # no volume at all today
        _edited(part, slice(-1, None), open=float(part.high[-1])),  # opens at its high
    ]
    for case in cases:
        _assert_bit_equal(case, FIVE_MINUTES)


def test_a_short_slice_is_the_full_computations_too(btc_1h):
    for length in (30, 96, 97, 200):
        _assert_bit_equal(btc_1h[5000 : 5000 + length], HOUR)


def test_the_live_rows_are_those_of_the_last_row_path(btc_5m):
    """The engine's path (carried structure, one pass) beside the one before it."""
    candles = btc_5m[:1500]
    new, old = CarriedRows(), CarriedRows(one_pass=False)
    for end in range(900, 1500):
        window = candles[end - WINDOW_CANDLES : end]
        after = int(window.open_time_ms[-2])
        rows = new.compute(window, FIVE_MINUTES, after_ms=after)
        before = old.compute(window, FIVE_MINUTES, after_ms=after)
        assert rows.names == before.names
        assert np.array_equal(rows.open_time_ms, before.open_time_ms)
        assert rows.values.tobytes() == before.values.tobytes()
