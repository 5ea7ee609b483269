"""Session ranges on real BTCUSDT 5m klines (from 2025-08-19 15:10 UTC), by hand."""

import numpy as np
import pytest

from botdesk.engine.analysis import session_ranges
from botdesk.engine.klines import load_klines
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")

MIDNIGHT = 106  # 2025-08-20 00:00 UTC


@pytest.fixture(scope="module")
def ranges():
    btc = load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles
    return btc, {r.name: r for r in session_ranges(btc.open_time_ms, btc.high, btc.low)}


def test_asia_grows_while_open_and_holds_once_closed(ranges):
    btc, sessions = ranges
    asia = sessions["asia"]
    first, last = MIDNIGHT, MIDNIGHT + 95  # 00:00 .. 07:55
    assert asia.active[first : last + 1].all() and not asia.active[last + 1]
    assert asia.start_ms[first] == btc.open_time_ms[first]
    assert asia.high[first + 10] == btc.high[first : first + 11].max()  # so far
    final = (btc.high[first : last + 1].max(), btc.low[first : last + 1].min())
    assert (asia.high[last], asia.low[last]) == final
    assert (asia.high[last + 50], asia.low[last + 50]) == final  # closed: it stays
    assert asia.start_ms[last + 50] == btc.open_time_ms[first]


def test_london_and_new_york_overlap(ranges):
    btc, sessions = ranges
    london, new_york = sessions["london"], sessions["new_york"]
    at_13 = MIDNIGHT + 13 * 12  # 13:00: both open
    assert london.active[at_13] and new_york.active[at_13]
    assert london.high[at_13] == btc.high[MIDNIGHT + 7 * 12 : at_13 + 1].max()
    assert new_york.high[at_13] == btc.high[at_13]
    # the London session of 08-19 opened at 07:00, before the data: its range is that of
    # the candles the data has (from 15:10); the Asia session of 08-19 has none of them
    assert london.active[0] and london.high[0] == btc.high[0]
    assert np.isnan(sessions["asia"].high[0])  # the Asia session of 08-19 is not in the data
