"""Volume-profile nodes on real BTCUSDT 1m klines (2024-10-28 from 00:00 UTC)."""

import numpy as np
import pytest

from botdesk.engine.analysis import profile_levels
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file

BTC = load_klines(sample_file("BTCUSDT")).candles[:600]


def test_nodes_are_peaks_and_troughs_around_the_median():
    levels = profile_levels(BTC.high, BTC.low, BTC.volume, bins=48)
    volume = levels.profile.volume
    median = np.median(volume)
    assert len(levels.high_nodes) and len(levels.low_nodes)
    for b in levels.high_nodes:
        assert volume[b] >= 1.5 * median
        assert volume[b] >= volume[max(b - 1, 0)] and volume[b] >= volume[min(b + 1, 47)]
    for b in levels.low_nodes:
        assert 0 < b < 47
        assert volume[b] <= 0.5 * median
        assert volume[b] <= volume[b - 1] and volume[b] <= volume[b + 1]
    peaks = [b for b in range(1, 47) if volume[b] >= 1.5 * median and volume[b] >= volume[b - 1]]
    peaks = [b for b in peaks if volume[b] >= volume[b + 1]]
    assert set(peaks) <= set(levels.high_nodes.tolist())
    assert levels.share(levels.high_nodes).sum() < 1
    assert levels.middles[0] == pytest.approx(
        (levels.profile.edges[0] + levels.profile.edges[1]) / 2
    )
