"""The candle store on both databases: upsert never duplicates, queries come back in order."""

from decimal import Decimal

from sqlmodel import func, select

from botdesk.db import candles
from botdesk.db.models import Candle
from botdesk.engine.klines import load_klines
from botdesk.engine.market import candle_rows
from botdesk.engine.sample_data import sample_file
from botdesk.engine.timeframes import aggregate

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
