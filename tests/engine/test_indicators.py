"""TA-Lib-backed indicators, VWAP and the volume profile, checked by hand on real candles."""

import itertools

import numpy as np
import pytest

from botdesk.engine.indicators import (
    adx,
    atr,
    bollinger_bands,
    ema,
    macd,
    obv,
    rsi,
    sma,
    stochastic,
    volume_profile,
    vwap,
)
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file

BTC = load_klines(sample_file("BTCUSDT")).candles
CLOSE = BTC.close


def test_sma_is_the_mean_of_the_last_closes():
    values = sma(CLOSE, 3)
    assert np.isnan(values[:2]).all()
    # 2024-10-28 00:00..00:02: 68061.06, 68032.01, 68045.99
    assert values[2] == pytest.approx((68061.06 + 68032.01 + 68045.99) / 3, abs=1e-9)


def test_ema_is_seeded_with_the_sma_then_recursive():
    values = ema(CLOSE, 3)
    seed = (68061.06 + 68032.01 + 68045.99) / 3
    assert np.isnan(values[:2]).all()
    assert values[2] == pytest.approx(seed, abs=1e-9)
    assert values[3] == pytest.approx(seed + 0.5 * (68053.46 - seed), abs=1e-9)  # k = 2/(3+1)


def _wilder(values: list[float], period: int) -> list[float]:
    average = sum(values[:period]) / period
    out = [average]
    for value in values[period:]:
        average = (average * (period - 1) + value) / period
        out.append(average)
    return out


def test_rsi_matches_wilders_formula_written_out():
    closes = CLOSE[:40].tolist()
    changes = [b - a for a, b in itertools.pairwise(closes)]
    gains = _wilder([max(c, 0) for c in changes], 14)
    losses = _wilder([max(-c, 0) for c in changes], 14)
    expected = [100 - 100 / (1 + up / down) for up, down in zip(gains, losses, strict=True)]
    values = rsi(CLOSE[:40], 14)
    assert np.isnan(values[:14]).all()
    assert values[14:] == pytest.approx(expected, abs=1e-9)
    full = rsi(CLOSE, 14)
    assert np.nanmin(full) >= 0 and np.nanmax(full) <= 100


def test_atr_matches_wilders_true_range_written_out():
    high, low, close = BTC.high[:30], BTC.low[:30], BTC.close[:30]
    ranges = [
        max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1]))
        for t in range(1, 30)
    ]
    values = atr(high, low, close, 14)
    assert np.isnan(values[:14]).all()
    assert values[14:] == pytest.approx(_wilder(ranges, 14), abs=1e-9)


def test_macd_is_the_difference_of_two_emas_and_its_signal():
    line, signal, histogram = macd(CLOSE, 12, 26, 9)
    valid = ~np.isnan(signal)
    assert np.flatnonzero(valid)[0] == 26 + 9 - 2
    fast = np.full(len(CLOSE), np.nan)
    fast[26 - 12 :] = ema(CLOSE[26 - 12 :], 12)  # both EMAs start on candle 25
    difference = fast - ema(CLOSE, 26)
    assert line[valid] == pytest.approx(difference[valid], abs=1e-9)
    expected_signal = np.full(len(CLOSE), np.nan)
    expected_signal[25:] = ema(difference[25:], 9)
    assert signal[valid] == pytest.approx(expected_signal[valid], abs=1e-9)
    assert histogram[valid] == pytest.approx((line - signal)[valid], abs=1e-9)


def test_bollinger_bands_are_the_sma_plus_minus_population_deviations():
    upper, middle, lower = bollinger_bands(CLOSE, 20, 2.0)
    window = CLOSE[:20]
    assert middle[19] == pytest.approx(window.mean(), abs=1e-9)
    assert upper[19] - middle[19] == pytest.approx(2 * window.std(ddof=0), abs=1e-6)
    assert middle[19] - lower[19] == pytest.approx(2 * window.std(ddof=0), abs=1e-6)


def test_stochastic_raw_k_by_hand():
    slow_k, _ = stochastic(BTC.high, BTC.low, BTC.close, 5, 1, 1)  # no smoothing: raw %K
    t = 10
    highest, lowest = BTC.high[t - 4 : t + 1].max(), BTC.low[t - 4 : t + 1].min()
    assert slow_k[t] == pytest.approx(100 * (CLOSE[t] - lowest) / (highest - lowest), abs=1e-9)
    smoothed, _ = stochastic(BTC.high, BTC.low, BTC.close, 14, 3, 3)
    assert np.nanmin(smoothed) > -1e-9 and np.nanmax(smoothed) < 100 + 1e-9


def test_obv_adds_volume_on_up_closes_and_subtracts_it_on_down_closes():
    values = obv(CLOSE[:5], BTC.volume[:5])
    # closes 68061.06, 68032.01 (down), 68045.99 (up), 68053.46 (up), 68033.05 (down)
    v = BTC.volume[:5]
    expected = np.cumsum([v[0], -v[1], v[2], v[3], -v[4]])
    assert values == pytest.approx(expected, abs=1e-9)


def test_adx_measures_trend_strength_within_0_and_100():
    values = adx(BTC.high, BTC.low, BTC.close, 14)
    assert np.flatnonzero(~np.isnan(values))[0] == 2 * 14 - 1
    assert np.nanmin(values) >= 0 and np.nanmax(values) <= 100


def test_vwap_by_hand_and_it_restarts_at_midnight_utc():
    values = vwap(BTC.high, BTC.low, BTC.close, BTC.volume, BTC.open_time_ms)
    typical = (BTC.high + BTC.low + BTC.close) / 3
    v = BTC.volume
    assert values[0] == pytest.approx(typical[0], abs=1e-9)
    assert values[2] == pytest.approx((typical[:3] * v[:3]).sum() / v[:3].sum(), abs=1e-9)
    # 2024-10-29 00:00 is candle 1440: a new session
    assert values[1440] == pytest.approx(typical[1440], abs=1e-9)
    assert values[1439] != pytest.approx(typical[1439], abs=1.0)
    whole = vwap(BTC.high, BTC.low, BTC.close, BTC.volume)
    assert whole[1440] == pytest.approx((typical[:1441] * v[:1441]).sum() / v[:1441].sum())


def test_volume_profile_of_the_first_three_candles_by_hand():
    # 00:00 [68021.69, 68061.99] 32.9321; 00:01 [68032, 68061.07] 16.47551;
    # 00:02 [68032, 68049.21] 6.57712. Two bins split at 68041.84.
    profile = volume_profile(BTC.high[:3], BTC.low[:3], BTC.volume[:3], bins=2)
    split = 68041.84
    lower = (
        32.9321 / 2
        + 16.47551 * (split - 68032) / (68061.07 - 68032)
        + 6.57712 * (split - 68032) / (68049.21 - 68032)
    )
    upper = 32.9321 + 16.47551 + 6.57712 - lower
    assert profile.edges == pytest.approx([68021.69, split, 68061.99])
    assert profile.volume == pytest.approx([lower, upper])
    assert upper > lower
    assert profile.poc == pytest.approx((split + 68061.99) / 2)
    # the POC bin holds 54% of the volume, so the value area takes the other bin too
    assert (profile.value_area_low, profile.value_area_high) == pytest.approx((68021.69, 68061.99))


def test_value_area_grows_towards_the_heavier_side_until_70_percent():
    # five one-price candles, one per bin: volumes 1, 2, 10, 4, 3 (total 20)
    prices = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    profile = volume_profile(prices, prices, [1, 2, 10, 4, 3], bins=4)
    # edges 1, 2, 3, 4, 5; the top edge joins the last bin: volumes 1, 2, 10, 7
    assert profile.volume == pytest.approx([1, 2, 10, 7])
    assert profile.poc == 3.5
    # 10 -> +7 above = 17 >= 14: value area is bins 3..4
    assert (profile.value_area_low, profile.value_area_high) == (3.0, 5.0)
    assert profile.value_area_volume == 17


def test_volume_profile_of_a_real_day_holds_its_volume():
    day = BTC[:1440]
    profile = volume_profile(day.high, day.low, day.volume, bins=40)
    assert profile.volume.sum() == pytest.approx(day.volume.sum())
    assert profile.value_area_volume >= 0.7 * day.volume.sum()
    assert profile.value_area_low < profile.poc < profile.value_area_high
    assert day.low.min() == profile.edges[0] and day.high.max() == profile.edges[-1]


def test_bots_on_one_window_share_results_read_only_within_a_scope():
    from botdesk.engine.indicators.shared import shared_results

    window = BTC[-600:]
    alone = atr(window.high, window.low, window.close, 14)
    with shared_results():
        first = atr(window.high, window.low, window.close, 14)
        again = atr(window.high, window.low, window.close, 14)
        other = atr(window.high, window.low, window.close, 7)
        copy = atr(window.high.copy(), window.low, window.close, 14)
        assert again is first  # computed once
        assert other is not first and copy is not first  # other inputs: computed afresh
        with pytest.raises(ValueError, match="read-only"):
            first[0] = 1.0  # a bot cannot spoil another bot's indicator
        assert window.close.flags.writeable  # the window itself stays as it was
    assert np.array_equal(first, alone, equal_nan=True)
    assert atr(window.high, window.low, window.close, 14) is not first  # no scope, no cache


def test_inside_unshared_a_scope_computes_afresh_and_keeps_nothing():
    from botdesk.engine.indicators.shared import shared_results, unshared

    window = BTC[-600:]
    with shared_results():
        first = atr(window.high, window.low, window.close, 14)
        with unshared():  # e.g. the confluence strategy's many small windows
            fresh = atr(window.high, window.low, window.close, 14)
            assert atr(window.high, window.low, window.close, 14) is not fresh
        assert fresh is not first and np.array_equal(fresh, first, equal_nan=True)
        assert atr(window.high, window.low, window.close, 14) is first  # the scope again
