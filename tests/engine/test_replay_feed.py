"""The replay feed: aligned symbols, warm-up at once, then candles at the chosen speed."""

import time
from decimal import Decimal

import numpy as np
import pytest

from botdesk.db import candles
from botdesk.engine.feeds.base import FeedError
from botdesk.engine.feeds.replay import MAX_CANDLES_PER_POLL, ReplayFeed, load_replay_data
from botdesk.engine.frames import CandleFrame
from botdesk.engine.market import MarketData, candle_rows
from botdesk.engine.sample_data import SAMPLE_FOLDER
from tests.engine.test_klines import GOOD_ROWS, write

DATA = load_replay_data(None)
FIRST = int(DATA["BTCUSDT"].open_time_ms[0])


class Clock:
    """Wall time that the test advances by hand (the feed takes any callable)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_warm_up_at_once_then_one_candle_per_second_at_speed_60():
    clock = Clock()
    feed = ReplayFeed(DATA, speed=60, warmup_candles=100, clock=clock)
    feed.start(resume_after_ms=None)
    first = feed.poll(["BTCUSDT", "ETHUSDT"])
    assert len(first["BTCUSDT"]) == 100  # the warm-up history, at once
    assert first["BTCUSDT"].open_time_ms[0] == FIRST
    assert np.array_equal(first["BTCUSDT"].open_time_ms, first["ETHUSDT"].open_time_ms)
    assert feed.poll(["BTCUSDT"]) == {}  # nothing closed since
    clock.now += 0.99
    assert feed.poll(["BTCUSDT"]) == {}
    clock.now += 0.02
    step = feed.poll(["BTCUSDT", "ETHUSDT"])
    assert [int(f.open_time_ms[0]) for f in step.values()] == [FIRST + 100 * 60_000] * 2
    clock.now += 3
    assert len(feed.poll(["BTCUSDT"])["BTCUSDT"]) == 3


def test_a_symbol_joining_later_gets_its_warm_up_up_to_the_same_present():
    clock = Clock()
    feed = ReplayFeed(DATA, speed=60, warmup_candles=50, clock=clock)
    feed.start(resume_after_ms=None)
    feed.poll(["BTCUSDT"])
    clock.now += 10
    btc = feed.poll(["BTCUSDT"])["BTCUSDT"]
    sol = feed.poll(["SOLUSDT"])["SOLUSDT"]
    assert sol.last_open_ms == btc.last_open_ms
    assert len(sol) == 60


def test_resumes_right_after_the_newest_stored_candle():
    clock = Clock()
    feed = ReplayFeed(DATA, speed=60, warmup_candles=10, clock=clock)
    stored = FIRST + 500 * 60_000
    feed.start(resume_after_ms=stored)
    warm = feed.poll(["BTCUSDT"])["BTCUSDT"]
    assert warm.last_open_ms == stored  # history up to what is stored, nothing beyond
    clock.now += 1.01
    assert feed.poll(["BTCUSDT"])["BTCUSDT"].open_time_ms.tolist() == [stored + 60_000]


def test_catches_up_in_bounded_steps_and_finishes_at_the_end_of_the_data():
    clock = Clock()
    feed = ReplayFeed(DATA, speed=60, warmup_candles=10, clock=clock)
    feed.start(resume_after_ms=None)
    feed.poll(["BTCUSDT"])
    clock.now += 1_000_000  # far past the end of the week
    delivered = [feed.poll(["BTCUSDT"]).get("BTCUSDT", CandleFrame.empty()) for _ in range(50)]
    assert max(len(f) for f in delivered) == MAX_CANDLES_PER_POLL
    times = np.concatenate([f.open_time_ms for f in delivered])
    assert np.all(np.diff(times) == 60_000)  # nothing skipped, nothing repeated
    assert times[-1] == DATA["BTCUSDT"].open_time_ms[-1]
    assert feed.finished


def test_runs_on_the_wall_clock_too():
    feed = ReplayFeed(DATA, speed=60_000, warmup_candles=10)  # 1000 candles a second
    feed.start(resume_after_ms=None)
    feed.poll(["ETHUSDT"])
    time.sleep(0.05)
    assert len(feed.poll(["ETHUSDT"])["ETHUSDT"]) >= 20


def test_replay_data_from_a_file_or_folder_and_clear_errors(tmp_path):
    single = write(tmp_path, GOOD_ROWS, name="BTCUSDT-1m.csv")
    assert list(load_replay_data(single)) == ["BTCUSDT"]
    assert sorted(load_replay_data(SAMPLE_FOLDER)) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    with pytest.raises(FeedError, match="does not exist"):
        load_replay_data(tmp_path / "missing")
    bad = write(tmp_path, [GOOD_ROWS[0], "1730073660000,1,x,1,1,1"], name="ETHUSDT-1m.csv")
    with pytest.raises(FeedError, match=r"ETHUSDT-1m.csv, line 3: high 'x' is not a number"):
        load_replay_data(bad)
    hourly = tmp_path / "hourly"
    hourly.mkdir()
    write(hourly, ["1730073600000,1,2,1,1,1", "1730077200000,1,2,1,1,1"], name="BTCUSDT-1h.csv")
    with pytest.raises(FeedError, match="holds 1h candles; the replay needs 1m"):
        load_replay_data(hourly)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FeedError, match=r"no \.csv file"):
        load_replay_data(tmp_path / "empty")


def test_the_replay_carries_binances_extra_fields_into_every_timeframe(tmp_path, db):
    """The 1m files have OHLCV only: here the first ten minutes of the sample carry a trade
    count and taker-buy volume of the test's own, followed from the file to the table."""
    header = "open_time_ms,open,high,low,close,volume,trades,taker_buy_base_volume\n"
    source = DATA["BTCUSDT"][:10]
    rows = [
        ",".join(f"{value}" for value in list(source.row(i).values())[:6]) + f",{10 + i},{i / 4}"
        for i in range(10)
    ]
    data = load_replay_data(write(tmp_path, rows, header=header, name="BTCUSDT-1m.csv"))
    clock = Clock()
    feed = ReplayFeed(data, speed=60, warmup_candles=0, clock=clock)
    feed.start(resume_after_ms=None)
    clock.now += 10.01
    minutes = feed.poll(["BTCUSDT"])["BTCUSDT"]
    assert minutes.trades.tolist() == [10.0 + i for i in range(10)]
    new = MarketData().add("BTCUSDT", minutes)
    with db.writing() as session:
        candles.upsert(session=session, candles=candle_rows("BTCUSDT", new))
    with db.reading() as session:
        fives = candles.recent(session=session, symbol="BTCUSDT", timeframe="5m", limit=5)
        one = candles.recent(session=session, symbol="BTCUSDT", timeframe="1m", limit=1)[0]
    assert [c.trades for c in fives] == [10 + 11 + 12 + 13 + 14, 15 + 16 + 17 + 18 + 19]
    assert [c.taker_buy_base_volume for c in fives] == [Decimal("2.5"), Decimal("8.75")]
    assert fives[0].quote_volume is None  # not in the file: unknown, not zero
    assert (one.trades, one.taker_buy_base_volume) == (19, Decimal("2.25"))
