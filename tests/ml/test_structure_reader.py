"""The structure reader, candle by candle from carried state, gives the structure columns
of the full computation over the same slice to the last digit, on real klines."""

import numpy as np
import pytest

from botdesk.ml import feature_columns, feature_set
from botdesk.ml.structure_reader import NAMES, StructureReader
from tests.ml.conftest import shared_candles

SLICE = feature_set.WARMUP + feature_set.BLOCK  # the longest slice a row is computed over


def _read(part) -> np.ndarray:
    reader = StructureReader()
    candles = zip(
        part.open_time_ms.tolist(),
        part.open.tolist(),
        part.high.tolist(),
        part.low.tolist(),
        part.close.tolist(),
        strict=True,
    )
    return np.array([reader.step(*candle) for candle in candles])


def test_the_names_are_the_structure_columns():
    part = shared_candles("BTCUSDT-1h.csv")[:SLICE]
    assert tuple(feature_columns.structure(part)) == NAMES


@pytest.mark.parametrize(
    "name", ["BTCUSDT-1h.csv", "ETHUSDT-1h.csv", "SOLUSDT-1h.csv", "BTCUSDT-5m.csv"]
)
def test_candle_by_candle_gives_the_full_computation_to_the_last_digit(name):
    candles = shared_candles(name)
    starts = np.linspace(0, len(candles) - SLICE, 12).astype(int)
    seen = dict.fromkeys(NAMES, 0)
    for start in starts:
        part = candles[start : start + SLICE]
        read = _read(part)
        full = feature_columns.structure(part)
        for index, column in enumerate(NAMES):
            assert np.array_equal(read[:, index], full[column], equal_nan=True), (
                f"{name} from candle {start}: {column} differs at "
                f"{np.flatnonzero(~np.isclose(read[:, index], full[column], equal_nan=True))[:5]}"
            )
            seen[column] += int(np.count_nonzero(np.isfinite(full[column]) & (full[column] != 0)))
    # every column had values to compare, not only NaN or zero
    assert min(seen.values()) > 0, seen


def test_a_candle_is_read_once_and_later_candles_change_nothing_before_them():
    part = shared_candles("BTCUSDT-1h.csv")[5000 : 5000 + SLICE]
    whole = _read(part)
    for cut in (40, 300, SLICE - 1):
        assert np.array_equal(_read(part[:cut]), whole[:cut], equal_nan=True)
