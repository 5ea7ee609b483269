"""Walk-forward folds: no training label window overlaps a test window, the embargo
holds, and the test windows follow each other without a gap."""

import numpy as np
import pytest

from botdesk.ml.validation import ValidationError, walk_forward


@pytest.mark.parametrize("horizon,embargo", [(1, 0), (12, 0), (24, 48), (100, 5)])
def test_no_training_label_window_overlaps_a_test_window(horizon, embargo):
    rng = np.random.default_rng(horizon)
    # candle positions with holes (candles without features or labels, outages)
    positions = np.cumsum(rng.integers(1, 4, size=3000))
    folds = walk_forward(positions, folds=5, horizon=horizon, embargo=embargo)
    assert len(folds) == 5
    for fold in folds:
        test_first = positions[fold.test[0]]
        test_last = positions[fold.test[-1]] + horizon  # the test's own label windows
        label_start = positions[fold.train] + 1
        label_end = positions[fold.train] + horizon
        overlaps = (label_start <= test_last) & (label_end >= test_first)
        assert not overlaps.any()
        assert (label_end < test_first - embargo).all()
        # purged only as much as needed: the next sample would overlap
        following = fold.train[-1] + 1
        assert positions[following] + horizon >= test_first - embargo
        assert np.array_equal(fold.test, np.arange(fold.test[0], fold.test[-1] + 1))
    tests = np.concatenate([fold.test for fold in folds])
    assert np.array_equal(tests, np.arange(tests[0], len(positions)))


def test_too_little_history_is_refused_with_a_message():
    with pytest.raises(ValidationError, match="use fewer folds or more history"):
        walk_forward(np.arange(600), folds=5, horizon=12, embargo=0)
