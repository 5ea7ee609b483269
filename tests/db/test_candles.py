"""The candle store on both databases: upsert never duplicates, queries come back in order."""

from decimal import Decimal

import numpy as np
import pytest
from sqlmodel import func, select

from botdesk.db import candles
from botdesk.db.models import Candle
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import load_klines
from botdesk.engine.market import MarketData, candle_rows
from botdesk.engine.sample_data import sample_file
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA

BTC = load_klines(sample_file("BTCUSDT")).candles[:120]


def _count(db) -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(Candle)).one()


def test_upsert_stores_exact_prices_and_never_duplicates(db):
    rows = list(candle_rows("BTCUSDT", {"1m": BTC, "5m": aggregate(BTC, "5m")}))
    with db.writing() as session:
        assert candles.upsert(session=session, candles=rows) == 144
    with db.writing() as session:  # a feed sending the same candles again after a restart
        candles.upsert(session=session, candles=rows[:50])
    assert _count(db) == 144
    changed = {**rows[0], "close": Decimal("68061.07"), "volume": Decimal("1.00000001")}
    with db.writing() as session:
        candles.upsert(session=session, candles=[changed])
    assert _count(db) == 144
    with db.reading() as session:
        first = candles.recent(session=session, symbol="BTCUSDT", timeframe="1m", limit=120)[0]
        five = candles.between(session=session, symbol="BTCUSDT", timeframe="5m", from_ms=None)
        latest = candles.latest_open_ms(session=session, symbol="BTCUSDT")
        assert latest == 1730073600000 + 119 * 60_000
        assert candles.last_price(session=session, symbol="BTCUSDT") == Decimal(str(BTC.close[-1]))
        assert candles.symbols(session=session) == ["BTCUSDT"]
    assert (first.open, first.close, first.volume) == (
        Decimal("68021.69"),
        Decimal("68061.07"),
        Decimal("1.00000001"),
    )
    assert [c.open_time_ms for c in five] == [1730073600000 + i * 300_000 for i in range(24)]
    assert five[0].high == Decimal("68090.91")


def test_recent_and_between_select_by_time(db):
    with db.writing() as session:
        candles.upsert(session=session, candles=candle_rows("ETHUSDT", {"1m": BTC}))
    start = int(BTC.open_time_ms[0])
    with db.reading() as session:
        last_three = candles.recent(
            session=session, symbol="ETHUSDT", timeframe="1m", limit=3, until_ms=start + 10 * 60_000
        )
        middle = candles.between(
            session=session,
            symbol="ETHUSDT",
            timeframe="1m",
            from_ms=start + 60_000,
            to_ms=start + 3 * 60_000,
        )
        assert candles.latest_open_ms(session=session, symbol="XRPUSDT") is None
        assert candles.last_price(session=session, symbol="XRPUSDT") is None
    assert [c.open_time_ms for c in last_three] == [start + m * 60_000 for m in (8, 9, 10)]
    assert [c.open_time_ms for c in middle] == [start + m * 60_000 for m in (1, 2, 3)]


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_binances_extra_fields_are_stored_and_never_erased_by_a_source_without_them(db):
    five = load_klines(SHARED_DATA / "ETHUSDT-5m.csv").candles[:24]
    market = MarketData()
    rows = list(
        candle_rows(
            "ETHUSDT", {"5m": five, "1h": aggregate(five[10:22], "1h", source_interval_ms=300_000)}
        )
    )
    with db.writing() as session:
        candles.upsert(session=session, candles=rows)
    bare = [{k: v for k, v in row.items() if k not in candles.FLOW} for row in rows[:2]]
    with db.writing() as session:  # the same candles again from a source without the fields
        candles.upsert(session=session, candles=bare)
    with db.reading() as session:
        stored = candles.recent(session=session, symbol="ETHUSDT", timeframe="5m", limit=24)
        hour = candles.recent(session=session, symbol="ETHUSDT", timeframe="1h", limit=1)[0]
    # line 2 of ETHUSDT-5m.csv: ...,18664809.37035,28471,2161.8649,9059623.950259
    assert stored[0].quote_volume == Decimal("18664809.37035")
    assert stored[0].trades == 28471
    assert stored[0].taker_buy_base_volume == Decimal("2161.8649")
    assert stored[0].taker_buy_quote_volume == Decimal("9059623.950259")
    assert hour.trades == int(five.trades[10:22].sum())
    again = CandleFrame.from_rows(stored)
    assert np.array_equal(again.taker_buy_base_volume, five.taker_buy_base_volume)
    assert market.frame("ETHUSDT", "5m").taker_buy_base_volume is None  # nothing loaded yet
    with db.reading() as session:
        market.load(session=session, symbol="ETHUSDT")
    assert np.array_equal(market.frame("ETHUSDT", "5m").trades, five.trades)
