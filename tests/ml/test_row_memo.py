"""The row memo: candle by candle on the live window it gives exactly the rows of the full
computation, computes only the new candle's row, and never serves a frame whose candles
differ from what it saw or that ends before it (a cut or a shuffled future)."""

import numpy as np
import pytest

from botdesk.engine.frames import CandleFrame
from botdesk.engine.market import WINDOW_CANDLES
from botdesk.ml import feature_set, row_memo
from botdesk.ml.feature_set import compute, covered
from botdesk.ml.row_memo import RowMemo

FIVE_MINUTES = 300_000
HOUR = 3_600_000


@pytest.fixture
def computed(monkeypatch):
    """The `after_ms` of every feature-set computation the memo asks for."""
    calls = []
    real = feature_set.compute

    def spy(frame, candle_ms, *, after_ms=None, columns=None):
        calls.append(after_ms)
        return real(frame, candle_ms, after_ms=after_ms, columns=columns)

    monkeypatch.setattr(row_memo.feature_set, "compute", spy)
    return calls


def _equal(rows, expected) -> None:
    assert np.array_equal(rows.open_time_ms, expected.open_time_ms)
    assert rows.names == expected.names
    assert np.array_equal(rows.values, expected.values, equal_nan=True)


# the new candle's row alone (`last_row`), its slice with the structure carried, or again
@pytest.mark.parametrize(("carry", "last_rows"), [(True, True), (True, False), (False, False)])
@pytest.mark.parametrize(("fixture", "candle_ms"), [("btc_1h", HOUR), ("btc_5m", FIVE_MINUTES)])
def test_live_windows_get_the_rows_of_the_whole_history(
    request, computed, fixture, candle_ms, carry, last_rows
):
    candles = request.getfixturevalue(fixture)[:1500]  # 5m: with order flow; 1h: with gaps
    whole = compute(candles, candle_ms)
    memo = RowMemo(carry=carry, last_rows=last_rows)
    first_end = 1500 - 300  # 300 candles: every place in a block, and a block boundary
    for end in range(first_end, 1501):
        window = candles[end - WINDOW_CANDLES : end]
        rows, _ = memo.rows(window, candle_ms)
        wanted = window.open_time_ms[covered(window.open_time_ms, candle_ms)]
        _equal(rows, _at(whole, wanted))
        if end in (first_end, first_end + 137, 1500):
            _equal(rows, compute(window, candle_ms))
    # the first window whole, then one new candle each: never the window again
    assert computed[0] is None
    assert [after for after in computed[1:] if after is None] == []
    assert len(computed) == (1 if last_rows else 1 + 300)  # last rows: not over a slice


def _at(rows, times):
    at = np.searchsorted(rows.open_time_ms, times)
    assert np.array_equal(rows.open_time_ms[at], times)
    return feature_set.FeatureRows(times, rows.values[at], rows.names)


def test_the_same_window_twice_computes_nothing(btc_1h, computed):
    memo = RowMemo()
    window = btc_1h[1000:1600]
    first, _ = memo.rows(window, HOUR)
    again, _ = memo.rows(window.copy(), HOUR)  # another bot on the same market
    _equal(again, first)
    assert computed == [None]  # the second bot: nothing to compute
    # a window of the same candles but one (its very length and end): not the memo's rows
    changed = _changed(window, 590)
    rows, _ = memo.rows(changed, HOUR)
    _equal(rows, compute(changed, HOUR))
    assert computed == [None, None]


def _changed(frame: CandleFrame, index: int) -> CandleFrame:
    moved = frame.copy()
    moved.close[index] *= 1.01
    moved.high[index] = max(moved.high[index], moved.close[index])
    return moved


def test_a_resent_candle_another_market_or_a_shuffled_future_is_computed_afresh(btc_1h, computed):
    memo = RowMemo()
    candles = btc_1h[2000:2700]
    memo.rows(candles[:600], HOUR)
    resent = _changed(candles[:601], 450)  # the feed resent candle 450 with another close
    rows, _ = memo.rows(resent, HOUR)
    _equal(rows, compute(resent, HOUR))
    assert computed[-1] is None
    other = btc_1h[5000:5601]  # another market: its candles are not those the memo holds
    memo.rows(other, HOUR)
    assert computed[-1] is None
    order = np.r_[np.arange(620), np.random.default_rng(1).permutation(80) + 620]
    shuffled = candles[:700]
    shuffled = CandleFrame.from_arrays(
        shuffled.open_time_ms,
        *(getattr(shuffled, n)[order] for n in ("open", "high", "low")),
        shuffled.close[order],
        shuffled.volume[order],
    )
    memo.rows(candles[:620], HOUR)
    rows, _ = memo.rows(shuffled, HOUR)
    _equal(rows, compute(shuffled, HOUR))


def test_a_frame_cut_before_the_memo_ends_is_computed_afresh(btc_1h, computed):
    """A lookahead check cuts the history after the whole of it was seen: the memo must
    not answer with rows it computed when later candles were there."""
    memo = RowMemo()
    candles = btc_1h[3000:3900]
    memo.rows(candles, HOUR)
    for cut in (850, 700):
        rows, _ = memo.rows(candles[:cut], HOUR)
        _equal(rows, compute(candles[:cut], HOUR))
    assert computed == [None, None, None]


def test_predictions_are_made_once_a_row(btc_1h):
    memo = RowMemo()
    predicted = []

    def predict(rows):
        predicted.append(len(rows))
        return np.column_stack([rows.column("rsi_14")] * 3)

    for end in range(1400, 1411):
        rows, held = memo.rows(btc_1h[end - WINDOW_CANDLES : end], HOUR)
        values = memo.predicted(held, "model", rows, predict)
        assert np.array_equal(values[:, 0], rows.column("rsi_14"), equal_nan=True)
    assert predicted[1:] == [1] * 10 and predicted[0] == len(rows) - 10
