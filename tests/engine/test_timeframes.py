"""Aggregation of real 1m candles into 5m, 15m, 1h and 4h candles."""

import numpy as np
import pytest

from botdesk.engine.frames import CandleFrame, to_decimal
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file
from botdesk.engine.timeframes import TIMEFRAMES, UnknownTimeframe, aggregate
from tests.conftest import SHARED_DATA

BTC = load_klines(sample_file("BTCUSDT")).candles


def test_first_5m_candle_of_the_sample_checked_by_hand():
    five = aggregate(BTC, "5m")
    # 2024-10-28 00:00..00:04 UTC, from the first five lines of BTCUSDT-1m.csv
    assert five.open_time_ms[0] == 1730073600000
    assert five.open[0] == 68021.69
    assert five.high[0] == 68090.91  # 00:03
    assert five.low[0] == 68021.69  # 00:00
    assert five.close[0] == 68033.05  # 00:04
    assert five.volume[0] == pytest.approx(72.3778, abs=1e-9)


def test_first_hour_of_the_sample_checked_by_hand():
    hour = aggregate(BTC, "1h")
    assert (hour.open[0], hour.high[0], hour.low[0], hour.close[0]) == (
        68021.69,
        68116.78,
        67839.9,
        67859.91,
    )
    assert hour.volume[0] == pytest.approx(555.35912, abs=1e-9)


@pytest.mark.parametrize("timeframe", ["5m", "15m", "1h", "4h"])
def test_every_bucket_is_the_max_min_first_last_sum_of_its_minutes(timeframe):
    length = TIMEFRAMES[timeframe] // 60_000
    bigger = aggregate(BTC, timeframe)
    assert len(bigger) == len(BTC) // length  # the week divides evenly: no partial bucket
    shaped = {name: getattr(BTC, name).reshape(-1, length) for name in ("open", "high", "low")}
    assert np.array_equal(bigger.open, shaped["open"][:, 0])
    assert np.array_equal(bigger.high, shaped["high"].max(axis=1))
    assert np.array_equal(bigger.low, shaped["low"].min(axis=1))
    assert np.array_equal(bigger.close, BTC.close.reshape(-1, length)[:, -1])
    assert np.allclose(bigger.volume, BTC.volume.reshape(-1, length).sum(axis=1))
    assert np.all(bigger.open_time_ms % TIMEFRAMES[timeframe] == 0)


def test_an_unfinished_bucket_is_not_emitted_until_its_last_minute_closes():
    assert len(aggregate(BTC[:14], "15m")) == 0
    assert len(aggregate(BTC[:15], "15m")) == 1
    assert len(aggregate(BTC[:29], "15m")) == 1


def test_a_bucket_with_missing_minutes_closes_when_a_later_candle_arrives():
    holed = BTC[np.r_[0:10, 16:31]]  # 00:10..00:15 missing, then minutes of the next bucket
    fifteen = aggregate(holed, "15m")
    assert len(fifteen) == 2
    assert fifteen.close[0] == BTC.close[9]  # the bucket closed with what it had
    assert fifteen.open[1] == BTC.open[16]


def test_bad_timeframes_are_refused():
    with pytest.raises(UnknownTimeframe, match="unknown timeframe '2m'"):
        aggregate(BTC, "2m")
    with pytest.raises(ValueError, match="not a whole multiple"):
        aggregate(aggregate(BTC, "1h"), "15m", source_interval_ms=3_600_000)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_the_extra_binance_fields_are_summed_and_unknown_if_any_part_is():
    five = load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles
    hour = aggregate(five[2:14], "1h", source_interval_ms=300_000)  # 15:20 .. 16:15 UTC
    # 16:00..16:55 is whole in rows 10..21; the 15:00 bucket is what 15:20..15:55 gave
    full = aggregate(five[10:22], "1h", source_interval_ms=300_000)
    assert full.trades[0] == five.trades[10:22].sum()
    assert full.taker_buy_base_volume[0] == pytest.approx(five.taker_buy_base_volume[10:22].sum())
    assert full.row(0)["quote_volume"] == to_decimal(five.quote_volume[10:22].sum())
    assert hour.trades[0] == five.trades[2:10].sum()
    gappy = five[10:22]
    gappy.taker_buy_base_volume[3] = np.nan  # one candle without the field: the sum is unknown
    summed = aggregate(gappy, "1h", source_interval_ms=300_000)
    assert summed.row(0)["taker_buy_base_volume"] is None
    assert summed.row(0)["trades"] == int(five.trades[10:22].sum())
    assert aggregate(BTC, "5m").taker_buy_base_volume is None  # the 1m sample has none


def test_frames_with_and_without_the_fields_join_with_unknowns():
    five = load_klines(sample_file("BTCUSDT")).candles[:3]
    known = CandleFrame.from_arrays(
        five.open_time_ms,
        five.open,
        five.high,
        five.low,
        five.close,
        five.volume,
        trades=[5, None, 7],
    )
    joined = CandleFrame.concat([known, BTC[3:5]])
    assert [joined.row(i)["trades"] for i in range(5)] == [5, None, 7, None, None]
    assert joined.quote_volume is None
    assert joined[1:3].row(1)["trades"] == 7
