"""Nothing the analysis says about candle t changes when later candles arrive.

For every output, on real Binance klines of ../shared/data, the analysis is computed on the
history cut at candle t and on the whole history, for several t, and everything at or
before t must be equal: per-candle values up to t, events known by t with what happened to
them by t (and "not yet" where it happened later), and the multi-timeframe readings as of
t's close (the longer timeframes given their whole history, later candles included).
"""

import numpy as np
import pytest

from botdesk.engine.analysis import (
    candle_patterns,
    confluence,
    dealing_range,
    liquidity_pools,
    order_flow,
    period_levels,
    profile_levels,
    session_ranges,
    setups,
    smc_analysis,
)
from botdesk.engine.indicators import swing_points
from botdesk.engine.klines import load_klines
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")

# every 37th candle of the month (a lookahead shows at the cut only when a flag or a zone
# sits right there, so the cuts are many), and for the slower multi-timeframe readings a few
CUTS = list(range(120, 8639, 37))


@pytest.fixture(scope="module")
def btc():
    return load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles  # with taker-buy volume


@pytest.fixture(scope="module")
def eth_hours():
    return load_klines(SHARED_DATA / "ETHUSDT-1h.csv").candles


def same(part: np.ndarray, full: np.ndarray, t: int) -> bool:
    return np.array_equal(part, full[: t + 1], equal_nan=True)


def test_the_cuts_meet_what_they_check(btc):
    """Each kind of event the tests compare happens right at some cut, where a lookahead
    would show."""
    flow = order_flow(btc)
    pools = liquidity_pools(btc.high, btc.low, swing_points(btc.high, btc.low, 5))
    cuts = np.array(CUTS)
    assert np.isin(np.flatnonzero(flow.absorption), cuts).any()
    assert np.isin(np.flatnonzero(flow.exhaustion), cuts).any()
    assert np.isin(pools.swept_index, cuts).any()
    assert np.isin(pools.formed_index, cuts).any()


def as_of(events: np.ndarray, t: int) -> np.ndarray:
    """What an event index says as of t: itself if it happened by t, else -1 (not yet)."""
    return np.where((events >= 0) & (events <= t), events, -1)


@pytest.mark.parametrize("t", CUTS)
def test_order_flow(btc, t):
    full, part = order_flow(btc), order_flow(btc[: t + 1])
    for name in ("delta", "cumulative_delta", "imbalance", "absorption", "exhaustion"):
        assert same(getattr(part, name), getattr(full, name), t), name
    known = full.divergences.known_index <= t
    assert np.array_equal(part.divergences.known_index, full.divergences.known_index[known])
    assert np.array_equal(part.divergences.direction, full.divergences.direction[known])
    assert np.array_equal(part.divergences.second_index, full.divergences.second_index[known])


@pytest.mark.parametrize("t", CUTS)
def test_liquidity_pools(btc, t):
    full = liquidity_pools(btc.high, btc.low, swing_points(btc.high, btc.low, 5))
    part = liquidity_pools(
        btc.high[: t + 1], btc.low[: t + 1], swing_points(btc.high[: t + 1], btc.low[: t + 1], 5)
    )
    known = full.formed_index <= t
    assert np.array_equal(part.formed_index, full.formed_index[known])
    assert np.array_equal(part.level, full.level[known])
    assert np.array_equal(part.swept_index, as_of(full.swept_index[known], t))
    for got, want in zip(part.touch_known, full.touch_known[known], strict=True):
        assert np.array_equal(got, want[want <= t])  # the touches confirmed by t


@pytest.mark.parametrize("t", CUTS)
def test_dealing_range_and_fibonacci_leg(btc, t):
    swings = swing_points(btc.high, btc.low, 5)
    full = dealing_range(btc.high, btc.low, btc.close, swings)
    cut = btc[: t + 1]
    part = dealing_range(cut.high, cut.low, cut.close, swing_points(cut.high, cut.low, 5))
    for name in ("high", "low", "high_index", "low_index", "direction", "position", "retracement"):
        assert same(getattr(part, name), getattr(full, name), t), name


@pytest.mark.parametrize("t", [30, 400, 5000, 20000])
@pytest.mark.parametrize("period", ["day", "week"])
def test_previous_day_and_week(eth_hours, t, period):
    frame = eth_hours
    full = period_levels(frame.open_time_ms, frame.high, frame.low, period)
    part = period_levels(
        frame.open_time_ms[: t + 1], frame.high[: t + 1], frame.low[: t + 1], period
    )
    for name in ("previous_high", "previous_low", "whole", "high_broken", "low_broken"):
        assert same(getattr(part, name), getattr(full, name), t), name


@pytest.mark.parametrize("t", CUTS)
def test_sessions(btc, t):
    full = session_ranges(btc.open_time_ms, btc.high, btc.low)
    part = session_ranges(btc.open_time_ms[: t + 1], btc.high[: t + 1], btc.low[: t + 1])
    for got, want in zip(part, full, strict=True):
        for name in ("start_ms", "active", "high", "low"):
            assert same(getattr(got, name), getattr(want, name), t), (want.name, name)


@pytest.mark.parametrize("t", CUTS)
def test_candle_patterns(btc, t):
    full = candle_patterns(btc.open, btc.high, btc.low, btc.close)
    cut = btc[: t + 1]
    part = candle_patterns(cut.open, cut.high, cut.low, cut.close)
    assert np.array_equal(part.values, full.values[:, : t + 1])


@pytest.mark.parametrize("t", CUTS)
def test_smc_analysis_with_order_block_strength(btc, t):
    full, part = smc_analysis(btc), smc_analysis(btc[: t + 1])
    formed = full.blocks.formed_index <= t
    assert np.array_equal(part.blocks.index, full.blocks.index[formed])
    assert np.array_equal(part.block_strength, full.block_strength[formed])
    assert np.array_equal(
        part.blocks.mitigated_index, as_of(full.blocks.mitigated_index[formed], t)
    )
    assert np.array_equal(part.blocks.broken_index, as_of(full.blocks.broken_index[formed], t))
    seen = full.gaps.index <= t
    assert np.array_equal(part.gaps.filled_index, as_of(full.gaps.filled_index[seen], t))
    assert same(part.mtr, full.mtr, t)
    assert same(part.structure.trend, full.structure.trend, t)


@pytest.mark.parametrize("t", CUTS[::10])
def test_volume_profile_of_a_window_ending_at_t(btc, t):
    """A window's profile is what its candles say: the window ending at t read from the
    whole history is the same as from the history cut at t."""
    start = max(0, t - 599)
    full, cut = btc, btc[: t + 1]
    want = profile_levels(
        full.high[start : t + 1], full.low[start : t + 1], full.volume[start : t + 1]
    )
    got = profile_levels(cut.high[start:], cut.low[start:], cut.volume[start:])
    assert got.profile.poc == want.profile.poc
    assert np.array_equal(got.high_nodes, want.high_nodes)
    assert np.array_equal(got.low_nodes, want.low_nodes)


def timeframes(frame, t):
    """5m up to candle t, and the 15m, 1h and 4h built from the WHOLE history: candles
    after t (and a 4h candle still forming at t) are there for the analysis to ignore."""
    frames = {"5m": frame[max(0, t - 599) : t + 1]}
    for name in ("15m", "1h", "4h"):
        frames[name] = aggregate(frame[10:], name, source_interval_ms=300_000)
    return frames


@pytest.mark.parametrize("t", [3001, 4444, 5555, 7001, 8000, 8638])
def test_confluence_and_setups_see_only_what_had_closed(btc, t):
    close_ms = int(btc.open_time_ms[t]) + 300_000
    full = confluence(timeframes(btc, t), as_of_ms=close_ms)
    cut = {
        name: aggregate(btc[10 : t + 1], name, source_interval_ms=300_000)
        for name in ("15m", "1h", "4h")
    }
    cut["5m"] = btc[max(0, t - 599) : t + 1]
    part = confluence(cut, as_of_ms=close_ms)
    assert part.score == full.score
    assert part.direction == full.direction
    assert part.components == full.components
    assert part.zones == full.zones
    assert part.readings["4h"].frame.last_open_ms == full.readings["4h"].frame.last_open_ms
    assert full.readings["4h"].frame.last_open_ms + 4 * 3_600_000 <= close_ms
    got, _ = setups(cut, as_of_ms=close_ms)
    want, _ = setups(timeframes(btc, t), as_of_ms=close_ms)
    assert got == want
