"""Setups on real BTCUSDT 5m klines (with 15m, 1h, 4h built from them), read every few
hours over the month: each one keeps the rules of its kind."""

import numpy as np
import pytest

from botdesk.engine.analysis import setups
from botdesk.engine.analysis.setups import MIN_REWARD_RISK, SWEEP_CANDLES
from botdesk.engine.klines import load_klines
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def found():
    five = load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles
    higher = {
        tf: aggregate(five[10:], tf, source_interval_ms=300_000) for tf in ("15m", "1h", "4h")
    }
    readings = []
    for end in range(3200, len(five), 37):
        frames = {"5m": five[end - 600 : end], **higher}
        listed, scored = setups(frames)
        readings.append((listed, scored))
    return readings


def test_every_setup_keeps_the_rules_of_its_kind(found):
    kinds = set()
    for listed, scored in found:
        base = next(iter(scored[1].readings.values()))
        frame, t = base.frame, len(base) - 1
        assert [s.confidence for s in listed] == sorted(
            (s.confidence for s in listed), reverse=True
        )
        for setup in listed:
            kinds.add((setup.kind, setup.direction))
            d = setup.direction
            assert setup.entry == frame.close[t]
            assert d * (setup.entry - setup.stop) > 0  # the stop is on the losing side
            assert d * (setup.take_profit - setup.entry) > 0
            risk = d * (setup.entry - setup.stop)
            assert setup.reward_risk == pytest.approx(d * (setup.take_profit - setup.entry) / risk)
            assert setup.reward_risk >= MIN_REWARD_RISK
            assert setup.known_index <= t
            far = setup.zone_bottom if d == 1 else setup.zone_top
            assert d * (far - setup.stop) >= 0  # beyond the zone's far side
            if setup.kind in ("order_block", "fair_value_gap"):
                # candle t traded into the zone
                assert (
                    frame.low[t] <= setup.zone_top if d == 1 else frame.high[t] >= setup.zone_bottom
                )
            if setup.kind == "liquidity_sweep":
                assert t - SWEEP_CANDLES < setup.known_index <= t
            confluence_part = scored[d].score / 100
            assert 0 <= setup.confidence <= confluence_part + 1e-12
    assert {kind for kind, _ in kinds} == {"order_block", "fair_value_gap", "liquidity_sweep"}
    assert {direction for _, direction in kinds} == {1, -1}


def test_take_profit_is_the_nearest_liquidity_beyond_the_entry(found):
    checked = 0
    for listed, scored in found:
        base = next(iter(scored[1].readings.values()))
        t = len(base) - 1
        pools = base.pools
        for setup in listed:
            if setup.take_profit_reason.startswith("nearest"):
                live = (
                    (pools.direction == setup.direction)
                    & (pools.formed_index <= t)
                    & ((pools.swept_index < 0) | (pools.swept_index > t))
                )
                beyond = pools.level[live][setup.direction * (pools.level[live] - setup.entry) > 0]
                assert setup.take_profit == beyond[np.argmin(np.abs(beyond - setup.entry))]
                checked += 1
    assert checked > 0
