"""The Binance feed against the fake: REST backfill of the warm-up, then closed candles
from the kline websocket (through python-binance's ThreadedWebsocketManager), an open
candle ignored, and a gap left by a dropped connection backfilled over REST."""

from dataclasses import replace
from decimal import Decimal

import pytest

from botdesk.engine.feeds import make_feed
from botdesk.engine.feeds.binance import BinanceFeed
from botdesk.settings import Settings
from tests.fake_binance import FakeBinance, Kline, load_klines
from tests.processes import wait_until

pytestmark = pytest.mark.integration

START = 200  # index of the candle that closed last when the test starts
WARMUP = 150


@pytest.fixture
def fake():
    klines = {"BTCUSDT": load_klines("BTCUSDT-1m.csv", 400)}
    with FakeBinance(klines=klines, start_index=START, stream=True) as server:
        yield server


def started_feed(fake) -> BinanceFeed:
    """A Binance feed on the fake (REST and websocket), started, its clock the fake's."""
    feed = BinanceFeed(
        rest_url=fake.base_url,
        stream_url=fake.stream.url,
        warmup_candles=WARMUP,
        clock=lambda: fake.market_now("BTCUSDT"),
    )
    feed.start(resume_after_ms=None)
    return feed


@pytest.fixture
def feed(fake):
    feed = started_feed(fake)
    yield feed
    feed.stop()


def opens(fake, first: int, last: int) -> list[int]:
    """Open times of the fake's candles first..last (indices, inclusive)."""
    return [k.open_time for k in fake.exchange.paths["BTCUSDT"].klines[first : last + 1]]


def poll_until(feed, count: int) -> list[int]:
    got: list[int] = []

    def enough():
        batch = feed.poll(["BTCUSDT"]).get("BTCUSDT")
        if batch is not None:
            got.extend(int(t) for t in batch.open_time_ms)
        return len(got) >= count

    wait_until(enough, timeout=20, interval=0.05, message=f"{count} candles from the feed")
    return got


def test_backfill_then_websocket_then_gap_backfill(fake, feed):
    warmup = feed.poll(["BTCUSDT"])["BTCUSDT"]
    assert list(warmup.open_time_ms) == opens(fake, START - WARMUP + 1, START)
    data = fake.exchange.paths["BTCUSDT"].klines
    assert warmup.close[-1] == float(data[START].close)
    wait_until(lambda: fake.stream.subscribers("BTCUSDT") == 1, timeout=20, message="subscribed")

    fake.stream.publish("BTCUSDT", data[START + 1], closed=False)  # still open: ignored
    fake.advance(2)  # two candles close, published on the websocket
    assert poll_until(feed, 2) == opens(fake, START + 1, START + 2)
    assert len(klines_calls(fake)) == 1  # those came over the websocket

    fake.advance(3, publish=False)  # three candles whose messages are lost
    fake.advance(1)  # the next one arrives: the hole is filled over REST first
    assert poll_until(feed, 4) == opens(fake, START + 3, START + 6)
    assert len(klines_calls(fake)) == 2  # the warm-up and the gap


def klines_calls(fake) -> list:
    return [r for r in fake.requests if r.path == "/api/v3/klines"]


def test_a_dropped_stream_reconnects(fake, feed):
    feed.poll(["BTCUSDT"])
    wait_until(lambda: fake.stream.subscribers("BTCUSDT") == 1, timeout=20, message="subscribed")
    fake.stream.drop_all()

    def reconnected():  # the engine polls every 200 ms: that is where a restart happens
        feed.poll(["BTCUSDT"])
        return fake.stream.connections >= 2

    wait_until(reconnected, timeout=30, message="a reconnection")
    wait_until(lambda: fake.stream.subscribers("BTCUSDT") == 1, timeout=20, message="back")
    fake.advance(1)
    assert poll_until(feed, 1) == opens(fake, START + 1, START + 1)
    assert len(klines_calls(fake)) == 1  # over the new connection, not REST


def test_a_failed_backfill_is_said_and_retried(fake):
    feed = BinanceFeed(
        rest_url=fake.base_url,
        warmup_candles=WARMUP,
        clock=lambda: fake.market_now("BTCUSDT"),
        websocket=False,
    )
    feed.start(resume_after_ms=None)
    fake.faults.server_error(503, method="GET", path="/api/v3/klines", times=2)
    assert feed.poll(["BTCUSDT"]) == {}
    assert "503" in feed.unavailable("BTCUSDT")
    warmup = feed.poll(["BTCUSDT"])["BTCUSDT"]  # the next poll fills the hole
    assert list(warmup.open_time_ms) == opens(fake, START - WARMUP + 1, START)
    assert feed.unavailable("BTCUSDT") is None


def test_the_setting_selects_the_binance_feed(fake):
    settings = Settings(
        FEED="binance", BINANCE_REST_URL=fake.base_url, BINANCE_STREAM_URL=fake.stream.url
    )
    feed = make_feed(settings)
    assert isinstance(feed, BinanceFeed) and feed.stream_url == fake.stream.url


def with_flow(klines: list[Kline]) -> list[Kline]:
    """The 1m files have OHLCV only: the test gives each candle extra kline fields of its
    own (quote volume, trades, taker-buy volumes), to follow them through the feed."""
    return [
        replace(
            k,
            quote_volume=(k.volume * k.close).quantize(Decimal("0.00000001")),
            trades=100 + number,
            taker_buy_base_volume=(k.volume * 2 / 5).quantize(Decimal("0.00000001")),
            taker_buy_quote_volume=(k.volume * 2 / 5 * k.close).quantize(Decimal("0.00000001")),
        )
        for number, k in enumerate(klines)
    ]


def test_the_feed_keeps_binances_extra_kline_fields_over_rest_and_the_websocket():
    klines = {"BTCUSDT": with_flow(load_klines("BTCUSDT-1m.csv", 400))}
    with FakeBinance(klines=klines, start_index=START, stream=True) as fake:
        feed = started_feed(fake)
        try:
            warmup = feed.poll(["BTCUSDT"])["BTCUSDT"]
            wait_until(
                lambda: fake.stream.subscribers("BTCUSDT") == 1, timeout=20, message="subscribed"
            )
            fake.advance(1)
            got = []
            wait_until(
                lambda: got.extend(feed.poll(["BTCUSDT"]).values()) or got,
                timeout=20,
                message="a candle over the websocket",
            )
        finally:
            feed.stop()
    data = klines["BTCUSDT"]
    first = START - WARMUP + 1
    assert warmup.row(0)["trades"] == data[first].trades  # over REST
    assert warmup.row(0)["quote_volume"] == data[first].quote_volume
    assert warmup.row(WARMUP - 1)["taker_buy_base_volume"] == data[START].taker_buy_base_volume
    streamed = got[0].row(0)  # over the websocket
    assert streamed["open_time_ms"] == data[START + 1].open_time
    assert streamed["trades"] == data[START + 1].trades
    assert streamed["taker_buy_quote_volume"] == data[START + 1].taker_buy_quote_volume


def test_candles_without_the_extra_fields_leave_them_unknown(fake, feed):
    warmup = feed.poll(["BTCUSDT"])["BTCUSDT"]  # the 1m file has none: served as null
    assert warmup.taker_buy_base_volume is None and not warmup.has_flow
    assert warmup.row(0)["trades"] is None
