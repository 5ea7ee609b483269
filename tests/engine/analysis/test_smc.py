"""The one-timeframe reading on real BTCUSDT 5m klines: order block strength and the mean
true range, by hand; the parts agree with the indicators they are built on."""

import numpy as np
import pytest

from botdesk.engine.analysis import mean_true_range, smc_analysis
from botdesk.engine.indicators import fair_value_gaps, order_blocks
from botdesk.engine.klines import load_klines
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def btc():
    return load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles[:600]


def test_mean_true_range_is_a_plain_mean(btc):
    mtr = mean_true_range(btc.high, btc.low, btc.close)
    assert np.isnan(mtr[13])
    true_range = np.maximum(btc.high[1:15], btc.close[:14]) - np.minimum(
        btc.low[1:15], btc.close[:14]
    )
    assert mtr[14] == pytest.approx(true_range.mean())


def test_order_block_strength_by_hand(btc):
    reading = smc_analysis(btc)
    blocks = reading.blocks
    # the first block: candle 28 (113410.00..113596.07), bearish, formed at 41 whose close
    # 113092.62 is 317.38 below the block, 2.37 mean true ranges (133.84): 0.790 of the
    # displacement part; the volume from 28 to 41 averaged 56.17 against 90.58 over the 20
    # candles before 28: 0.620 of 2, 0.310; bearish gaps formed at 40 and 41: imbalance 1
    assert (blocks.index[0], blocks.formed_index[0], blocks.direction[0]) == (28, 41, -1)
    displacement = (blocks.bottom[0] - btc.close[41]) / reading.mtr[41] / 3
    volume = btc.volume[28:42].mean() / btc.volume[8:28].mean() / 2
    assert displacement == pytest.approx(317.38 / 133.84214 / 3, rel=1e-5)
    assert reading.block_strength[0] == pytest.approx((displacement + volume + 1) / 3)
    assert reading.block_strength[0] == pytest.approx(0.7002, abs=1e-4)
    assert np.all((reading.block_strength >= 0) & (reading.block_strength <= 1))


def test_the_reading_is_the_indicators(btc):
    reading = smc_analysis(btc, swing=5, gap_size=0.0002)
    gaps = fair_value_gaps(btc.high, btc.low, btc.close, 0.0002)
    assert np.array_equal(reading.gaps.index, gaps.index)
    blocks = order_blocks(btc.open, btc.high, btc.low, btc.close, reading.structure)
    assert np.array_equal(reading.blocks.mitigated_index, blocks.mitigated_index)
    assert len(reading.sessions) == 3 and len(reading) == 600
