"""Previous day's and week's levels on real ETHUSDT 1h klines, the dealing range on real
BTCUSDT 5m klines, Fibonacci levels: checked by hand."""

import numpy as np
import pytest

from botdesk.engine.analysis import dealing_range, fibonacci, period_levels
from botdesk.engine.indicators import swing_points
from botdesk.engine.klines import load_klines
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def eth():
    return load_klines(SHARED_DATA / "ETHUSDT-1h.csv").candles  # from 2021-04-04 21:00 UTC


def test_previous_day_by_hand(eth):
    day = period_levels(eth.open_time_ms, eth.high, eth.low, "day")
    # 2021-04-05 (Monday) is candles 3..26; on 2021-04-06 00:00 (candle 27) its high and
    # low are the previous day's
    assert day.previous_high[27] == eth.high[3:27].max() == 2130.64
    assert day.previous_low[27] == eth.low[3:27].min() == 2002.15
    assert day.whole[27] and not day.whole[3]  # 2021-04-04 is seen from 21:00 only
    assert np.isnan(day.previous_high[0])  # nothing before the first day
    # candle 27 itself trades to 2143.56, above 2130.64: the previous day's high is broken
    assert eth.high[27] == 2143.56 and day.high_broken[27]
    assert not day.low_broken[27:51].any()


def test_previous_week_starts_on_monday(eth):
    week = period_levels(eth.open_time_ms, eth.high, eth.low, "week")
    monday = 3 + 7 * 24  # 2021-04-12 00:00 UTC
    assert week.previous_high[monday] == eth.high[3:monday].max() == 2200.0
    assert week.whole[monday] and not week.whole[monday - 1]
    assert np.array_equal(
        week.previous_high[monday : monday + 24], np.full(24, week.previous_high[monday])
    )
    with pytest.raises(ValueError, match="'day' or 'week'"):
        period_levels(eth.open_time_ms, eth.high, eth.low, "month")


def test_dealing_range_by_hand():
    btc = load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles
    swings = swing_points(btc.high, btc.low, 5)
    dealing = dealing_range(btc.high, btc.low, btc.close, swings)
    # swing low 23 (113107.07, known at 28) and swing high 28 (113596.07, known at 33):
    # from 33 the range is 113107.07..113596.07, an up leg; close 113520.11 sits at 84.5 %
    # of it (premium) and has given back 15.5 % of the leg
    assert np.all(dealing.direction[:33] == 0) and np.isnan(dealing.position[32])
    assert (dealing.low[33], dealing.high[33], dealing.direction[33]) == (113107.07, 113596.07, 1)
    assert dealing.position[33] == pytest.approx((113520.11 - 113107.07) / 489.0)
    assert dealing.retracement[33] == pytest.approx((113596.07 - 113520.11) / 489.0 * 100)
    assert dealing.equilibrium[33] == pytest.approx(113351.57)
    # swing low 49 (112767.06) is known at 54, after the high: a down leg; the close
    # 113421.14 has retraced 78.9 % of it
    assert (dealing.low_index[54], dealing.direction[54]) == (49, -1)
    assert dealing.retracement[54] == pytest.approx((113421.14 - 112767.06) / 829.01 * 100)


def test_fibonacci_of_a_leg():
    up = fibonacci(100.0, 200.0)  # a leg from 100 up to 200
    assert up["retracements"] == [
        (0.236, pytest.approx(176.4)),
        (0.382, pytest.approx(161.8)),
        (0.5, 150.0),
        (0.618, pytest.approx(138.2)),
        (0.786, pytest.approx(121.4)),
    ]
    assert up["extensions"] == [(1.272, pytest.approx(227.2)), (1.618, pytest.approx(261.8))]
    down = fibonacci(200.0, 100.0)
    assert down["retracements"][2] == (0.5, 150.0)
    assert down["extensions"][0] == (1.272, pytest.approx(72.8))
