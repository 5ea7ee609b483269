"""Multi-timeframe confluence on real BTCUSDT klines: the score is its components, the
longer timeframes count once closed, the coinciding zones are where sources overlap."""

import numpy as np
import pytest

from botdesk.engine.analysis import NotEnoughHistory, confluence
from botdesk.engine.analysis.confluence import WEIGHTS, Zone, _coinciding
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA

HOUR = 3_600_000


@pytest.fixture(scope="module")
def frames():
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is absent")
    five = load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles
    built = {tf: aggregate(five[10:], tf, source_interval_ms=300_000) for tf in ("15m", "1h", "4h")}
    return {"5m": five[-600:], **built}


def test_the_score_is_the_sum_of_its_components(frames):
    result = confluence(frames)
    assert [c.name for c in result.components] == list(WEIGHTS)
    assert all(c.available for c in result.components)
    for component in result.components:
        assert 0 <= component.part <= 1
        assert component.points == pytest.approx(component.part * component.weight)
    assert result.score == pytest.approx(sum(c.points for c in result.components))
    trend = result.components[0]
    weights = {"5m": 1, "15m": 2, "1h": 3, "4h": 4}
    expected = sum(w for tf, w in weights.items() if result.trends[tf] == result.direction) / 10
    assert trend.part == pytest.approx(expected)
    for tf, reading in result.readings.items():
        assert result.trends[tf] == reading.structure.trend[-1]
    assert result.price == frames["5m"].close[-1]
    flow = result.components[3]
    five = frames["5m"]
    delta = 2 * five.taker_buy_base_volume[-20:] - five.volume[-20:]
    assert flow.detail["imbalance"] == pytest.approx(delta.sum() / five.volume[-20:].sum())
    forced = confluence(frames, direction=-result.direction)
    assert forced.direction == -result.direction
    assert forced.components[0].part == pytest.approx(
        sum(w for tf, w in weights.items() if result.trends[tf] == -result.direction) / 10
    )


def test_a_four_hour_candle_counts_once_it_has_closed(frames):
    four = frames["4h"]
    closes = int(four.open_time_ms[-5]) + 4 * HOUR  # the close of a 4h candle
    just_before = confluence(frames, as_of_ms=closes - 300_000)
    at_close = confluence(frames, as_of_ms=closes)
    assert just_before.readings["4h"].frame.last_open_ms == four.open_time_ms[-6]
    assert at_close.readings["4h"].frame.last_open_ms == four.open_time_ms[-5]
    assert at_close.readings["5m"].frame.last_open_ms == closes - 300_000


def test_without_taker_volume_order_flow_is_unavailable_and_the_rest_rescaled():
    minutes = load_klines(sample_file("BTCUSDT")).candles  # 1m: no taker column
    frames = {tf: aggregate(minutes, tf) for tf in ("5m", "15m", "1h")}
    result = confluence(frames)
    flow = next(c for c in result.components if c.name == "order_flow")
    assert not flow.available and flow.points == 0
    for component in result.components[:3]:
        assert component.points == pytest.approx(component.part * component.weight * 100 / 80)
    assert 0 <= result.score <= 100


def test_too_little_history_is_said(frames):
    with pytest.raises(NotEnoughHistory, match="closed 4h candles; confluence needs at least 50"):
        confluence({"5m": frames["5m"], "4h": frames["4h"][:30]})


def test_zones_are_where_two_sources_or_more_overlap():
    bands = [
        (100.0, 110.0, "1h order block"),
        (105.0, 120.0, "4h fair value gap"),
        (108.0, 109.0, "5m POC"),
        (130.0, 140.0, "1h order block"),
        (135.0, 136.0, "1h order block"),  # the same source twice is not a confluence
    ]
    zones = _coinciding(bands, price=106.0)
    assert zones == [  # the nearest to the price first
        Zone(105.0, 108.0, ("1h order block", "4h fair value gap")),
        Zone(108.0, 109.0, ("1h order block", "4h fair value gap", "5m POC")),
        Zone(109.0, 110.0, ("1h order block", "4h fair value gap")),
    ]
    assert np.all([zone.top > zone.bottom for zone in zones])
