"""Carried rows: one new candle's row with the structure columns stepped from the previous
candle's state is the row of the full computation, the reader steps once per candle, and
it is causal (a cut or shuffled future changes no earlier row) and never goes on over
candles other than those it read."""

import numpy as np
import pytest

from botdesk.engine.market import WINDOW_CANDLES
from botdesk.ml import feature_set
from botdesk.ml.carried_rows import CarriedRows
from botdesk.ml.structure_reader import NAMES, StructureReader

FIVE_MINUTES = 300_000
HOUR = 3_600_000
AHEAD = feature_set.WARMUP // feature_set.BLOCK + 1  # slices read ahead at most


@pytest.fixture
def steps(monkeypatch):
    """How many candles the structure readers stepped."""
    count = [0]
    real = StructureReader.step

    def counted(self, *candle):
        count[0] += 1
        return real(self, *candle)

    monkeypatch.setattr(StructureReader, "step", counted)
    return count


def _equal(rows, expected) -> None:
    assert np.array_equal(rows.open_time_ms, expected.open_time_ms)
    assert rows.names == expected.names
    assert np.array_equal(rows.values, expected.values, equal_nan=True)


@pytest.mark.parametrize(("fixture", "candle_ms"), [("btc_1h", HOUR), ("btc_5m", FIVE_MINUTES)])
@pytest.mark.parametrize("last_rows", [True, False])
def test_each_new_candle_gets_the_full_row_from_one_step(
    request, steps, fixture, candle_ms, last_rows
):
    candles = request.getfixturevalue(fixture)[:1800]  # 5m: with order flow; 1h: with gaps
    carried = CarriedRows(last_rows)
    times = candles.open_time_ms
    blocks = feature_set.block_of(times, candle_ms)
    first_end = 1800 - 400  # 400 candles: every place in a block, and block boundaries
    fresh_blocks = new_blocks = 0
    for end in range(first_end, 1801):
        window = candles[end - WINDOW_CANDLES : end]
        after = int(window.open_time_ms[-2])
        before = steps[0]
        rows = carried.compute(window, candle_ms, after_ms=after)
        _equal(rows, feature_set.compute(window, candle_ms, after_ms=after))
        assert len(rows) == 1
        new_block = blocks[end - 1] != blocks[end - 2]
        new_blocks += end > first_end and new_block
        # the slice starts WARMUP candles before the block: read ahead unless a gap is there
        block_ms = feature_set.BLOCK * candle_ms
        slice_start = blocks[end - 1] * block_ms - feature_set.WARMUP * candle_ms
        read_ahead = last_rows and times[end - 1 - feature_set.WARMUP] == slice_start
        if end > first_end and not new_block:
            # state carried: one step, and one for each next block's slice read ahead
            assert steps[0] - before <= (1 + AHEAD if last_rows else 1)
        elif end > first_end and read_ahead:  # its warm-up read ahead: one step (and ahead)
            assert steps[0] - before <= 1 + AHEAD
        else:  # a new slice: read from its first candle, the WARMUP before it included
            assert steps[0] - before > feature_set.WARMUP
            fresh_blocks += end > first_end
    # no gap near these blocks' starts: read ahead, no block reads its slice afresh
    assert new_blocks and fresh_blocks == (0 if last_rows else new_blocks)


@pytest.mark.parametrize(("fixture", "candle_ms"), [("btc_1h", HOUR), ("btc_5m", FIVE_MINUTES)])
def test_no_row_reads_a_later_candle(request, fixture, candle_ms):
    candles = request.getfixturevalue(fixture)[:1500]
    for cut in (700, 1100, 1301):
        # one reader over the whole, the cut and the shuffled future, as a memo would be
        columns = CarriedRows().columns
        assert feature_set.future_sensitive(candles, candle_ms, cut, columns=columns) == []


def test_a_reader_never_goes_on_over_other_candles(btc_1h):
    window = btc_1h[3000 : 3000 + WINDOW_CANDLES]
    carried = CarriedRows()
    after = int(window.open_time_ms[-3])
    carried.compute(window[:-1], HOUR, after_ms=after)
    changed = window.copy()
    at = len(window) - 8  # a candle the reader read: same times, another low
    changed.low[at] = changed.low[at] * 0.9
    rows = carried.compute(changed, HOUR, after_ms=after)
    _equal(rows, feature_set.compute(changed, HOUR, after_ms=after))
    # and the changed candle changes the structure columns (so the comparison could fail)
    unchanged = feature_set.compute(window, HOUR, after_ms=after)
    structure = [rows.names.index(name) for name in NAMES]
    assert not np.array_equal(
        rows.values[:, structure], unchanged.values[:, structure], equal_nan=True
    )
