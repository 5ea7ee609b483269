"""Labels: forward return with thresholds and the triple barrier, checked candle by
candle against a plain loop, and reading only the label window."""

import numpy as np
import pytest

from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import atr
from botdesk.ml.labels import (
    BUY,
    HOLD,
    SELL,
    LabelError,
    LabelSpec,
    forward_labels,
    label,
    triple_barrier_labels,
)


def test_forward_labels_by_hand():
    close = np.array([100.0, 102.0, 99.5, 101.5, 101.0])
    labels = forward_labels(close, horizon=2, threshold=0.01)
    # 100 -> 99.5: -0.5 %; 102 -> 101.5: -0.49 %; 99.5 -> 101: +1.51 %
    assert labels[:3].tolist() == [HOLD, HOLD, BUY]
    assert np.isnan(labels[3:]).all()
    assert forward_labels(close, 2, 0.00495)[:2].tolist() == [SELL, HOLD]


def _loop_triple_barrier(frame, horizon, take_profit, stop_loss):
    unit = atr(frame.high, frame.low, frame.close, 14)
    out = np.full(len(frame), np.nan)
    for t in range(len(frame) - horizon):
        if np.isnan(unit[t]):
            continue
        upper = frame.close[t] + take_profit * unit[t]
        lower = frame.close[t] - stop_loss * unit[t]
        out[t] = HOLD
        for u in range(t + 1, t + horizon + 1):
            if frame.low[u] <= lower:
                out[t] = SELL
                break
            if frame.high[u] >= upper:
                out[t] = BUY
                break
    return out


def test_triple_barrier_matches_a_plain_loop_on_real_candles(btc_1h):
    frame = btc_1h[:3000]
    fast = triple_barrier_labels(frame, 24, 2.0, 1.0)
    assert np.array_equal(fast, _loop_triple_barrier(frame, 24, 2.0, 1.0), equal_nan=True)
    counts = {value: int((fast == value).sum()) for value in (SELL, HOLD, BUY)}
    assert all(count > 50 for count in counts.values()), counts


def test_a_label_reads_only_its_window(btc_1h):
    frame = btc_1h[:800]
    spec = LabelSpec(kind="triple_barrier", horizon=10)
    whole = label(frame, spec)
    # changing candle 500 changes no label before t = 490 (the first whose window holds
    # it); later ones may change (their window, or their ATR, holds candle 500)
    changed = frame.copy()
    changed.high[500] *= 1.2
    changed.low[500] *= 0.8
    other = label(changed, spec)
    differs = np.flatnonzero(~((whole == other) | (np.isnan(whole) & np.isnan(other))))
    assert len(differs) and differs.min() >= 490


def test_specs_parse_and_refuse_with_a_message():
    spec = LabelSpec.parse("triple_barrier:horizon=24,take_profit=2.5,stop_loss=1")
    assert spec == LabelSpec("triple_barrier", 24, take_profit=2.5, stop_loss=1.0)
    assert LabelSpec.parse(spec.describe()) == spec
    assert LabelSpec.parse("forward:horizon=6,threshold=0.005").threshold == 0.005
    with pytest.raises(LabelError, match="unknown label kind"):
        LabelSpec.parse("magic:horizon=3")
    with pytest.raises(LabelError, match="horizon must be 1 to"):
        LabelSpec.parse("forward:horizon=0")
    with pytest.raises(LabelError, match="cannot read"):
        LabelSpec.parse("forward:lookahead=3")
    with pytest.raises(LabelError, match="must be a number"):
        LabelSpec.parse("forward:threshold=abc")
    with pytest.raises(LabelError, match="threshold must be above 0"):
        LabelSpec.parse("forward:threshold=nan")


def test_no_label_without_a_full_window():
    times = np.arange(5, dtype=np.int64) * 60_000
    close = np.arange(5, dtype=np.float64) + 100
    frame = CandleFrame.from_arrays(times, close, close + 1, close - 1, close, np.ones(5))
    assert np.isnan(label(frame, LabelSpec(horizon=5))).all()
