"""The engine publishes what its feed offers: a replay's symbols once, Binance's spot
symbols from exchangeInfo (the fake's) hourly, a failed attempt retried."""

import shutil

import pytest

from botdesk.db import feed_listings
from botdesk.engine.feeds import make_feed
from botdesk.engine.feeds.base import FeedError
from botdesk.engine.feeds.binance import BinanceFeed
from botdesk.engine.feeds.replay import replay_symbols
from botdesk.engine.listing import FeedListingJob
from botdesk.engine.sample_data import SAMPLE_FOLDER
from botdesk.settings import Settings
from tests.engine.driving import runtime_for
from tests.fake_binance import FakeBinance, load_klines


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def offered(db, feed: str):
    with db.reading() as session:
        return feed_listings.offer(session=session, feed=feed)


def test_a_replay_publishes_its_symbols_once(db):
    runtime = runtime_for(db, engine_id="engine-a")
    clock = Clock()
    job = FeedListingJob(runtime, make_feed(Settings(DATABASE_URL=db.url)), clock=clock)
    assert job.run() is True
    listing = offered(db, "replay")
    assert listing.symbols == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert listing.source == "the replay of the bundled sample"
    clock.now += 10 * 86400
    assert job.run() is False  # a replay's files do not change while it runs


def test_the_replays_files_name_its_symbols_without_being_read(tmp_path):
    shutil.copy(SAMPLE_FOLDER / "ETHUSDT-1m.csv", tmp_path / "ETHUSDT-1m.csv")
    (tmp_path / "dogeusdt_1m.csv").write_text("not read")
    (tmp_path / "BTCUSDT-1h.csv").write_text("not 1m: not replayed")
    (tmp_path / "notes.txt").write_text("not a kline file")
    assert replay_symbols(tmp_path) == ["DOGEUSDT", "ETHUSDT"]
    assert replay_symbols(None) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    with pytest.raises(FeedError, match="does not exist"):
        replay_symbols(tmp_path / "missing")


@pytest.fixture
def fake():
    klines = {
        "BTCUSDT": load_klines("BTCUSDT-1m.csv", 50),
        "ETHUSDT": load_klines("ETHUSDT-1m.csv", 50),
    }
    with FakeBinance(klines=klines, start_index=10) as server:
        yield server


@pytest.mark.integration
def test_binance_lists_exchangeinfos_symbols_hourly_and_retries_a_failure(db, fake):
    runtime = runtime_for(db, engine_id="engine-b")
    clock = Clock()
    feed = BinanceFeed(rest_url=fake.base_url, websocket=False)
    job = FeedListingJob(runtime, feed, clock=clock)
    fake.faults.server_error(503, method="GET", path="/api/v3/exchangeInfo", times=1)
    assert job.run() is False and offered(db, "binance") is None
    assert job.run() is True  # the job's next run (a minute later in the engine)
    listing = offered(db, "binance")
    assert listing.symbols == {"BTCUSDT", "ETHUSDT"}
    assert listing.source == "Binance live exchangeInfo, spot symbols TRADING"
    clock.now += 3599
    assert job.run() is False
    clock.now += 1
    assert job.run() is True
    calls = [r for r in fake.requests if r.path == "/api/v3/exchangeInfo"]
    assert len(calls) == 3
