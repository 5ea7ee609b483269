"""Candle history into the candle table: kline files checked whole before a write, the
higher timeframes built from them, and Binance's public klines fetched from the fake
Binance, page by page, within its request weight, resuming where a run stopped."""

import time

import numpy as np
import pytest
from sqlmodel import col, func, select

from botdesk.db import candles
from botdesk.db.models import Candle
from botdesk.engine.brokers.binance_rest import BinanceRest, RestGate
from botdesk.engine.feeds.binance_history import DownloadStopped, public_rest
from botdesk.engine.frames import CandleFrame
from botdesk.engine.history import HistoryError, download, first_missing, import_file
from botdesk.engine.klines import KlineFileError, load_klines
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA
from tests.fake_binance import FakeBinance
from tests.fake_binance import load_klines as fake_klines

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")

FIVE = SHARED_DATA / "BTCUSDT-5m.csv"
FIRST_MS = 1755616200000  # 2025-08-19 15:10 UTC, the file's first candle


def stored(db, symbol: str, timeframe: str) -> CandleFrame:
    with db.reading() as session:
        rows = candles.between(session=session, symbol=symbol, timeframe=timeframe)
    return CandleFrame.from_rows(rows)


def count(db) -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(Candle)).one()


def test_a_month_of_5m_klines_is_imported_with_its_higher_timeframes(db):
    result = import_file(db, FIVE, symbol="BTCUSDT", timeframe="5m")
    source = load_klines(FIVE).candles
    assert (result.count, result.new, result.first_ms) == (8639, 8639, FIRST_MS)
    five = stored(db, "BTCUSDT", "5m")
    assert np.array_equal(five.close, source.close)
    assert np.array_equal(five.taker_buy_base_volume, source.taker_buy_base_volume)
    assert np.array_equal(five.trades, source.trades)
    hour = stored(db, "BTCUSDT", "1h")
    # 15:10 starts mid-hour: the first hour stored is 16:00, built from 16:00..16:55
    assert hour.open_time_ms[0] == FIRST_MS + 50 * 60_000
    assert hour.high[0] == source.high[10:22].max()
    assert hour.trades[0] == source.trades[10:22].sum()
    assert np.array_equal(
        hour.close, aggregate(source[10:], "1h", source_interval_ms=300_000).close
    )
    assert result.higher == {"15m": len(stored(db, "BTCUSDT", "15m")), "1h": 719, "4h": 179}
    again = import_file(db, FIVE, symbol="BTCUSDT", timeframe="5m", higher=False)
    assert (again.count, again.new) == (8639, 0)  # replaced, never duplicated


def test_a_bad_line_stops_the_import_and_nothing_is_stored(db, tmp_path):
    lines = FIVE.read_text().splitlines()
    lines[4000] = lines[4000].replace(",", ",x", 1)  # line 4001: the open is not a number
    bad = tmp_path / "BTCUSDT-5m.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(KlineFileError) as error:
        import_file(db, bad, symbol="BTCUSDT", timeframe="5m")
    assert error.value.line == 4001
    assert "open 'x" in str(error.value)
    assert count(db) == 0


def test_the_file_must_be_what_the_command_says(db, tmp_path):
    with pytest.raises(HistoryError, match="holds 5m candles, not 1h"):
        import_file(db, FIVE, symbol="BTCUSDT", timeframe="1h")
    with pytest.raises(HistoryError, match="named for BTCUSDT klines, not ETHUSDT"):
        import_file(db, FIVE, symbol="ETHUSDT", timeframe="5m")
    plain = tmp_path / "export.csv"  # a name that says nothing is taken at its word
    plain.write_text("\n".join(FIVE.read_text().splitlines()[1:50]) + "\n")  # no header
    assert import_file(db, plain, symbol="ETHUSDT", timeframe="5m").count == 49
    assert count(db) > 0


@pytest.fixture(scope="module")
def fake():
    with FakeBinance(klines={"BTCUSDT": fake_klines("BTCUSDT-5m.csv")}, start_index=8638) as fake:
        yield fake


def klines_requests(fake, since: float) -> list:
    return [r for r in fake.requests if r.path == "/api/v3/klines" and r.at >= since]


TO_MS = FIRST_MS + 2999 * 300_000  # three thousand candles


def test_download_pages_by_1000_and_stores_binances_fields(db, fake):
    started = time.time()
    pages = []
    result = download(
        db,
        public_rest(rest_url=fake.base_url),
        symbol="BTCUSDT",
        timeframe="5m",
        from_ms=FIRST_MS,
        to_ms=TO_MS,
        on_page=pages.append,
    )
    assert [len(page) for page in pages] == [1000, 1000, 1000]
    assert (result.count, result.new, result.last_ms) == (3000, 3000, TO_MS)
    source = load_klines(FIVE).candles[:3000]
    got = stored(db, "BTCUSDT", "5m")
    assert np.array_equal(got.open_time_ms, source.open_time_ms)
    assert np.array_equal(got.taker_buy_quote_volume, source.taker_buy_quote_volume)
    assert [int(r.params["startTime"]) for r in klines_requests(fake, started)] == [
        FIRST_MS,
        FIRST_MS + 1000 * 300_000,
        FIRST_MS + 2000 * 300_000,
    ]


def test_an_interrupted_download_resumes_at_the_first_missing_candle(db, fake):
    rest = public_rest(rest_url=fake.base_url)

    def break_after_the_second_page(page, pages=[]):  # noqa: B006  (counts across calls)
        pages.append(page)
        if len(pages) == 2:  # Binance stops answering
            fake.faults.server_error(503, method="GET", path="/api/v3/klines", times=3)

    with pytest.raises(DownloadStopped, match="run the same command later to resume"):
        download(
            db,
            rest,
            symbol="BTCUSDT",
            timeframe="5m",
            from_ms=FIRST_MS,
            to_ms=TO_MS,
            on_page=break_after_the_second_page,
            sleep=lambda seconds: None,
        )
    assert count(db) == 2000  # what was fetched is kept
    resume = FIRST_MS + 2000 * 300_000
    assert first_missing(db, symbol="BTCUSDT", timeframe="5m", from_ms=FIRST_MS, to_ms=TO_MS) == (
        resume
    )
    started = time.time()
    result = download(db, rest, symbol="BTCUSDT", timeframe="5m", from_ms=FIRST_MS, to_ms=TO_MS)
    assert (result.count, result.first_ms) == (1000, resume)
    assert [int(r.params["startTime"]) for r in klines_requests(fake, started)] == [resume]
    assert count(db) == 3000
    nothing = download(db, rest, symbol="BTCUSDT", timeframe="5m", from_ms=FIRST_MS, to_ms=TO_MS)
    assert nothing.count == 0


def test_download_pauses_when_the_minutes_weight_nears_its_limit(db, fake):
    """The gate reads X-MBX-USED-WEIGHT-1M; with a limit of 10 (budget 9) and klines of
    weight 2, at least one of the nine pages of a month must wait for the minute's end."""
    clock = [time.time()]
    gate = RestGate(weight_limit=10, clock=lambda: clock[0])
    rest = BinanceRest(public_rest(rest_url=fake.base_url).client, gate)
    waits = []

    def sleep(seconds):  # the test's clock moves instead of the test waiting a minute
        waits.append((seconds, gate.used_weight))
        clock[0] += seconds

    result = download(
        db,
        rest,
        symbol="BTCUSDT",
        timeframe="5m",
        from_ms=FIRST_MS,
        to_ms=FIRST_MS + 8638 * 300_000,
        sleep=sleep,
        on_wait=lambda seconds, why: None,
    )
    assert result.count == 8639
    assert waits and all(used >= 9 and 0 < seconds <= 60 for seconds, used in waits)


def test_a_429_is_waited_out_for_its_retry_after(db, fake):
    fake.faults.rate_limit(retry_after=1, method="GET", path="/api/v3/klines")
    told = []
    started = time.time()
    result = download(
        db,
        public_rest(rest_url=fake.base_url),
        symbol="BTCUSDT",
        timeframe="1h",
        from_ms=FIRST_MS,
        to_ms=FIRST_MS + 100 * 3_600_000,
        on_wait=lambda seconds, why: told.append(why),
    )
    refused, answered = klines_requests(fake, started)
    assert refused.status == 429 and answered.status == 200
    assert answered.at - refused.at >= 0.9  # nothing sent before Retry-After passed
    assert told == ["Binance rate limit (429): retry after 1 s"]
    assert result.count == 100
    with db.reading() as session:
        first = session.exec(
            select(Candle).where(Candle.timeframe == "1h").order_by(col(Candle.open_time_ms))
        ).first()
    assert first.open_time_ms == FIRST_MS + 50 * 60_000  # the first whole hour


def test_an_unknown_symbol_stops_with_binances_answer(db, fake):
    with pytest.raises(DownloadStopped, match="Invalid symbol"):
        download(
            db,
            public_rest(rest_url=fake.base_url),
            symbol="NOPEUSDT",
            timeframe="5m",
            from_ms=FIRST_MS,
            to_ms=TO_MS,
        )
