"""Order flow on real BTCUSDT 5m klines (2025-08-19 from 15:10 UTC), checked by hand
against the CSV's taker-buy column."""

import numpy as np
import pytest

from botdesk.engine.analysis import NoOrderFlow, order_flow
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def btc():
    return load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles


def test_delta_cumulative_delta_and_imbalance_by_hand(btc):
    flow = order_flow(btc)
    # line 2: volume 181.00846, taker buy 82.13538: sold by takers 98.87308
    assert flow.buy_volume[0] == 82.13538
    assert flow.sell_volume[0] == pytest.approx(98.87308)
    assert flow.delta[0] == pytest.approx(-16.7377)
    assert flow.imbalance[0] == pytest.approx(-16.7377 / 181.00846)
    # line 3: volume 110.43836, taker buy 69.35652: delta 28.27468, CVD 11.53698
    assert flow.delta[1] == pytest.approx(28.27468)
    assert flow.cumulative_delta[1] == pytest.approx(11.53698)
    assert np.all(np.abs(flow.imbalance) <= 1)
    assert flow.cumulative_delta[-1] == pytest.approx(np.sum(flow.delta))


def test_absorption_by_hand(btc):
    flow = order_flow(btc)
    # candle 27 (line 29): takers bought 67.57906 of 88.95718 (delta +46.2), over twice the
    # 16.55 mean |delta| of the 20 candles before, yet it rose only 18.25 against a mean
    # range of 191.9: buying absorbed (bearish)
    assert np.flatnonzero(flow.absorption)[0] == 27
    assert flow.absorption[27] == -1
    typical = np.abs(flow.delta[7:27]).mean()
    assert flow.delta[27] >= 2 * typical
    assert btc.close[27] - btc.open[27] <= 0.3 * (btc.high[7:27] - btc.low[7:27]).mean()
    assert not flow.absorption[:20].any()  # no 20 candles before them yet


def test_exhaustion_by_hand(btc):
    flow = order_flow(btc)
    # candles 50..52 (lines 52-54): closes 113323.14 < 113393.82 < 113416.73 while the
    # deltas fade 87.59 > 38.92 > 14.14 > 0: buyers exhausted
    assert np.flatnonzero(flow.exhaustion)[0] == 52
    assert flow.exhaustion[52] == -1
    assert flow.delta[50] > flow.delta[51] > flow.delta[52] > 0


def test_divergence_at_swing_lows_by_hand(btc):
    flow = order_flow(btc)
    found = flow.divergences
    # swing lows 23 (113107.07) and 49 (112767.06): a lower low, but the CVD rose from
    # -25.28 to 164.30: bullish, known when swing 49 is confirmed (candle 54)
    assert (found.direction[0], found.first_index[0], found.second_index[0]) == (1, 23, 49)
    assert found.known_index[0] == 54
    assert flow.cumulative_delta[49] > flow.cumulative_delta[23]
    bearish = found.direction == -1
    assert bearish.any()
    first, second = found.first_index[bearish], found.second_index[bearish]
    assert np.all(btc.high[second] > btc.high[first])
    assert np.all(flow.cumulative_delta[second] < flow.cumulative_delta[first])


def test_a_candle_without_taker_volume_is_unknown_not_zero(btc):
    part = btc[:30]
    taker = part.taker_buy_base_volume.copy()
    taker[5] = np.nan
    frame = CandleFrame.from_arrays(
        part.open_time_ms, part.open, part.high, part.low, part.close, part.volume,
        taker_buy_base_volume=taker,
    )  # fmt: skip
    flow = order_flow(frame)
    assert np.isnan(flow.delta[5]) and np.isnan(flow.imbalance[5])
    assert flow.cumulative_delta[5] == flow.cumulative_delta[4]  # adds nothing
    assert flow.absorption[5] == 0 and flow.exhaustion[5] == 0


def test_candles_without_taker_volume_have_no_order_flow():
    with pytest.raises(NoOrderFlow, match="no taker-buy volume"):
        order_flow(load_klines(sample_file("BTCUSDT")).candles)
