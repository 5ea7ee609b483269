"""Market structure and zones on real BTCUSDT candles (2024-10-28 from 00:00 UTC), checked
by hand against the CSV, and checked never to look ahead."""

import numpy as np
import pytest

from botdesk.engine.indicators import (
    fair_value_gaps,
    liquidity_levels,
    market_structure,
    order_blocks,
    swing_points,
)
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file

BTC = load_klines(sample_file("BTCUSDT")).candles
SWINGS = swing_points(BTC.high, BTC.low, 3)
STRUCTURE = market_structure(BTC.high, BTC.low, BTC.close, SWINGS)


def test_swings_by_hand():
    # candle 3 (00:03): high 68090.91 above 68061.99, 68061.07, 68049.21 before and at
    # least as high as 68053.47, 68043.46, 68018 after
    assert np.flatnonzero(SWINGS.high[:40]).tolist() == [3, 11, 16, 22, 37]
    # candle 8 (00:08): low 67966.02 below 68017.99, 68006, 67994 and 68015.01, 67988, 68029.91
    assert np.flatnonzero(SWINGS.low[:40]).tolist() == [8, 19, 31]
    assert not SWINGS.high[:3].any() and not SWINGS.high[-3:].any()


def test_equal_tops_make_the_first_one_the_swing():
    high = np.array([1.0, 2.0, 5.0, 5.0, 2.0, 1.0, 0.5])
    swings = swing_points(high, high - 0.5, 2)
    assert np.flatnonzero(swings.high).tolist() == [2]


def test_bos_then_choch_by_hand():
    # 00:11 closes at 68098.01 above the 00:03 swing high 68090.91 (known since 00:06):
    # the first break, trend unknown before, so a bullish BOS
    assert STRUCTURE.bos[11] == 1 and STRUCTURE.choch[11] == 0
    assert STRUCTURE.level[11] == 68090.91 and STRUCTURE.swing_index[11] == 3
    # 00:30 closes at 67998 below the 00:19 swing low 68006.47 while the trend is bullish
    assert STRUCTURE.choch[30] == -1 and STRUCTURE.bos[30] == 0
    assert STRUCTURE.level[30] == 68006.47 and STRUCTURE.swing_index[30] == 19
    assert np.flatnonzero(STRUCTURE.breaks[:31]).tolist() == [11, 30]
    assert STRUCTURE.trend[:11].tolist() == [0] * 11
    assert set(STRUCTURE.trend[11:30].tolist()) == {1}
    assert STRUCTURE.trend[30] == -1


def test_structure_alternates_sensibly_over_the_week():
    breaks = STRUCTURE.breaks[STRUCTURE.breaks != 0]
    choch = STRUCTURE.choch[STRUCTURE.choch != 0]
    assert len(breaks) > 500
    # a CHoCH always flips the trend, so consecutive CHoCHs alternate in direction
    assert np.all(choch[1:] != choch[:-1])
    # every break is beyond its level on that candle's close
    rows = np.flatnonzero(STRUCTURE.breaks)
    up = rows[STRUCTURE.breaks[rows] == 1]
    down = rows[STRUCTURE.breaks[rows] == -1]
    assert np.all(BTC.close[up] > STRUCTURE.level[up])
    assert np.all(BTC.close[down] < STRUCTURE.level[down])


def test_fair_value_gaps_by_hand():
    gaps = fair_value_gaps(BTC.high, BTC.low, BTC.close)
    first = {int(i): n for n, i in enumerate(gaps.index) if i < 20}
    # bullish at 00:12: low 68076.57 above the 00:10 high 68029.92; filled at 00:19 (low
    # 68006.47 is the first low at or under 68029.92)
    bull = first[12]
    assert gaps.direction[bull] == 1
    assert (gaps.bottom[bull], gaps.top[bull]) == (68029.92, 68076.57)
    assert gaps.filled_index[bull] == 19
    # bearish at 00:05: high 68043.46 below the 00:03 low 68045.99; filled at 00:11
    bear = first[5]
    assert gaps.direction[bear] == -1
    assert (gaps.bottom[bear], gaps.top[bear]) == (68043.46, 68045.99)
    assert gaps.filled_index[bear] == 11
    sized = fair_value_gaps(BTC.high, BTC.low, BTC.close, min_size=0.0005)
    assert 0 < len(sized) < len(gaps)
    assert np.all(sized.top - sized.bottom > 0.0005 * BTC.close[sized.index - 1])


def test_order_block_by_hand():
    blocks = order_blocks(BTC.open, BTC.high, BTC.low, BTC.close, STRUCTURE)
    # the 00:11 bullish BOS broke the 00:03 swing; the lowest low in 3..11 is 00:08 and
    # the last bearish candle up to it is 00:07 (68011.99 -> 67994.01)
    assert (blocks.index[0], blocks.formed_index[0], blocks.direction[0]) == (7, 11, 1)
    assert (blocks.bottom[0], blocks.top[0]) == (67994.0, 68015.93)
    assert blocks.mitigated_index[0] == 19  # low 68006.47 trades back into the block
    assert blocks.broken_index[0] == 31  # close 67976.95, the first close under 67994
    assert len(blocks) == np.count_nonzero(STRUCTURE.breaks)


def test_liquidity_levels_by_hand():
    levels = liquidity_levels(BTC.high, BTC.low, SWINGS, tolerance=0.001)
    # swing highs 00:03 (68090.91) and 00:11 (68108.04) are within 0.1%: buy-side
    # liquidity at 68108.04, known at 00:14, swept at 00:16 (high 68116.78)
    assert levels.direction[0] == 1
    assert levels.level[0] == 68108.04
    assert (levels.first_index[0], levels.second_index[0]) == (3, 11)
    assert (levels.formed_index[0], levels.swept_index[0]) == (14, 16)
    lows = np.flatnonzero(levels.direction == -1)
    # swing lows 00:08 (67966.02) and 00:19 (68006.47): sell-side at 67966.02, swept at
    # 00:31 (low 67942.02)
    assert levels.level[lows[0]] == 67966.02
    assert levels.swept_index[lows[0]] == 31


@pytest.mark.parametrize("cut", [137, 1000, 4321, 9000])
def test_nothing_looks_ahead(cut):
    """Computed on candles 0..cut, every result known by `cut` equals the full run's."""
    part = BTC[: cut + 1]
    swings = swing_points(part.high, part.low, 3)
    known = cut - 3  # a swing at i is known at i + 3
    assert np.array_equal(swings.high[: known + 1], SWINGS.high[: known + 1])
    structure = market_structure(part.high, part.low, part.close, swings)
    assert np.array_equal(structure.bos, STRUCTURE.bos[: cut + 1])
    assert np.array_equal(structure.choch, STRUCTURE.choch[: cut + 1])
    assert np.array_equal(structure.trend, STRUCTURE.trend[: cut + 1])
    gaps_part = fair_value_gaps(part.high, part.low, part.close)
    gaps_full = fair_value_gaps(BTC.high, BTC.low, BTC.close)
    seen = gaps_full.index <= cut
    assert np.array_equal(gaps_part.index, gaps_full.index[seen])
    expected_fill = np.where(gaps_full.filled_index[seen] <= cut, gaps_full.filled_index[seen], -1)
    assert np.array_equal(gaps_part.filled_index, expected_fill)
    blocks_part = order_blocks(part.open, part.high, part.low, part.close, structure)
    blocks_full = order_blocks(BTC.open, BTC.high, BTC.low, BTC.close, STRUCTURE)
    formed = blocks_full.formed_index <= cut
    assert np.array_equal(blocks_part.index, blocks_full.index[formed])
    mitigated = blocks_full.mitigated_index[formed]
    assert np.array_equal(blocks_part.mitigated_index, np.where(mitigated <= cut, mitigated, -1))
