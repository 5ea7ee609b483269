"""The engine's in-memory windows: 1m in, every timeframe out, once, the same as the batch."""

import numpy as np

from botdesk.db import candles
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import load_klines
from botdesk.engine.market import MarketData, candle_rows
from botdesk.engine.sample_data import sample_file
from botdesk.engine.timeframes import TIMEFRAMES, aggregate

BTC = load_klines(sample_file("BTCUSDT")).candles


def _feed(market: MarketData, frame: CandleFrame, sizes) -> dict[str, list[CandleFrame]]:
    out: dict[str, list[CandleFrame]] = {tf: [] for tf in TIMEFRAMES}
    start = 0
    for size in sizes:
        for timeframe, new in market.add("BTCUSDT", frame[start : start + size]).items():
            out[timeframe].append(new)
        start += size
    return out


def test_streamed_candles_equal_the_batch_aggregation_whatever_the_batch_sizes():
    market = MarketData(window=600)
    sizes = [1440, 1, 1, 7, 300, 1, 59, 240, 3]
    streamed = _feed(market, BTC, sizes)
    used = BTC[: sum(sizes)]
    for timeframe in TIMEFRAMES:
        got = CandleFrame.concat(streamed[timeframe])
        want = aggregate(used, timeframe)
        assert np.array_equal(got.open_time_ms, want.open_time_ms), timeframe
        assert np.array_equal(got.close, want.close)
        assert np.array_equal(got.high, want.high)
        window = market.frame("BTCUSDT", timeframe)
        assert len(window) == min(600, len(want))
        assert window.last_open_ms == want.last_open_ms


def test_repeated_candles_are_ignored():
    market = MarketData()
    market.add("BTCUSDT", BTC[:300])
    assert market.add("BTCUSDT", BTC[100:300]) == {}
    again = market.add("BTCUSDT", BTC[250:301])
    assert again["1m"].open_time_ms.tolist() == [int(BTC.open_time_ms[300])]


def test_a_window_starting_mid_bucket_skips_the_partial_bucket():
    market = MarketData()
    new = market.add("BTCUSDT", BTC[7:40])  # 00:07 .. 00:39
    assert new["5m"].open_time_ms[0] == BTC.open_time_ms[10]
    assert new["15m"].open_time_ms.tolist() == [int(BTC.open_time_ms[15])]


def test_a_restarted_engine_reloads_its_windows_and_carries_on(db):
    before = MarketData()
    new = before.add("BTCUSDT", BTC[:1000])
    with db.writing() as session:
        candles.upsert(session=session, candles=candle_rows("BTCUSDT", new))
    after = MarketData()
    with db.reading() as session:
        after.load(session=session, symbol="BTCUSDT")
    for timeframe in TIMEFRAMES:
        assert np.array_equal(
            after.frame("BTCUSDT", timeframe).close, before.frame("BTCUSDT", timeframe).close
        )
    # the 4h bucket that was half done when the engine stopped closes with every minute in it
    more = after.add("BTCUSDT", BTC[990:1200])
    assert more["4h"].open_time_ms.tolist() == [int(BTC.open_time_ms[960])]
    assert more["4h"].high[0] == BTC.high[960:1200].max()
    assert more["4h"].open[0] == BTC.open[960]
