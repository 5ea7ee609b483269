"""Liquidity pools: the rules on small hand-made price paths, and what must hold of every
pool on a month of real BTCUSDT 5m klines."""

import numpy as np
import pytest

from botdesk.engine.analysis import liquidity_pools
from botdesk.engine.indicators import swing_points
from botdesk.engine.klines import load_klines
from tests.conftest import SHARED_DATA


def pools_of(highs, length=1, tolerance=0.001):
    high = np.array(highs, dtype=float)
    low = high - 0.5
    return liquidity_pools(high, low, swing_points(high, low, length), tolerance)


def test_three_equal_highs_make_one_pool_swept_by_the_first_trade_above():
    # swing highs at 1 (10), 3 (10.005) and 5 (9.999), all within 0.1 %: one buy-side pool
    # at 10.005, known at 4 (swing 3 confirmed), swept at 7 (high 12)
    pools = pools_of([1, 10, 2, 10.005, 3, 9.999, 2, 12, 1])
    buy = np.flatnonzero(pools.direction == 1)
    assert len(buy) == 1
    k = buy[0]
    assert pools.level[k] == 10.005
    assert pools.touches[k].tolist() == [1, 3, 5]
    assert pools.touch_known[k].tolist() == [2, 4, 6]
    assert (pools.formed_index[k], pools.swept_index[k]) == (4, 7)
    # the lows (highs - 0.5): swing lows at 2 (1.5), 4 (2.5), 6 (1.5): a sell-side pool at
    # 1.5 from 2 and 6 (2.5 is another price), swept at 8 (low 0.5)
    sell = np.flatnonzero(pools.direction == -1)
    assert [(pools.level[k], pools.touches[k].tolist(), pools.swept_index[k]) for k in sell] == [
        (1.5, [2, 6], 8)
    ]


def test_a_high_just_above_a_pool_sweeps_it_instead_of_joining():
    # 10 and 10.004 pool at 10.004; the next swing high 10.006 is within tolerance but
    # above the level: it traded through the stops (swept at 5) and starts a new candidate
    pools = pools_of([1, 10, 2, 10.004, 3, 10.006, 2, 1])
    buy = np.flatnonzero(pools.direction == 1)
    assert [(pools.touches[k].tolist(), pools.swept_index[k]) for k in buy] == [([1, 3], 5)]


def test_a_single_high_taken_out_before_a_second_touch_is_no_pool():
    # 10, then 10.02 (beyond the 0.1 % band): the first candidate dies; 10.02 and 10.021
    # make the pool
    pools = pools_of([1, 10, 2, 10.02, 3, 10.021, 2, 1])
    buy = np.flatnonzero(pools.direction == 1)
    assert [pools.touches[k].tolist() for k in buy] == [[3, 5]]
    assert pools.level[buy[0]] == 10.021
    assert pools.swept_index[buy[0]] == -1  # nothing traded above it since


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_every_pool_on_a_month_of_real_klines_keeps_the_rules():
    btc = load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles
    tolerance = 0.001
    pools = liquidity_pools(btc.high, btc.low, swing_points(btc.high, btc.low, 5), tolerance)
    assert len(pools) > 50
    assert (pools.swept_index >= 0).sum() > 20
    for k in range(len(pools)):
        up = pools.direction[k] == 1
        prices = btc.high if up else btc.low
        touched = prices[pools.touches[k]]
        level = pools.level[k]
        assert len(touched) >= 2
        assert level == (touched.max() if up else touched.min())
        assert np.all(np.abs(touched - level) <= tolerance * touched + 1e-9)
        assert pools.formed_index[k] == pools.touches[k][1] + 5
        last, swept = pools.touches[k][-1], pools.swept_index[k]
        between = prices[last + 1 : swept if swept >= 0 else None]
        assert np.all(between <= level) if up else np.all(between >= level)
        if swept >= 0:
            assert prices[swept] > level if up else prices[swept] < level
