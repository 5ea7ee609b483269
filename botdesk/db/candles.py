"""The candle table: closed candles per (symbol, timeframe), written by the engine's feed.

`upsert` never duplicates a candle: the primary key is (symbol, timeframe, open_time_ms)
and a candle already stored is overwritten with the new values (a feed may send a candle
again after a restart). Works on SQLite and PostgreSQL alike.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from botdesk.db.models import Candle

_VALUES = ("open", "high", "low", "close", "volume")
_BATCH = 500


def upsert(*, session: Session, candles: Iterable[Mapping]) -> int:
    """Insert or overwrite candles given as mappings with symbol, timeframe, open_time_ms,
    open, high, low, close, volume (Decimals). Returns how many were written."""
    rows = [dict(candle) for candle in candles]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(rows), _BATCH):
        statement = insert(Candle).values(rows[start : start + _BATCH])
        statement = statement.on_conflict_do_update(
            index_elements=["symbol", "timeframe", "open_time_ms"],
            set_={name: statement.excluded[name] for name in _VALUES},
        )
        session.execute(statement)
    return len(rows)


def latest_open_ms(*, session: Session, symbol: str | None = None, timeframe: str = "1m"):
    """Open time of the newest stored candle (of one symbol, or of any), None if there is none."""
    query = select(func.max(Candle.open_time_ms)).where(Candle.timeframe == timeframe)
    if symbol is not None:
        query = query.where(Candle.symbol == symbol)
    return session.exec(query).one()


def recent(
    *,
    session: Session,
    symbol: str,
    timeframe: str,
    limit: int,
    until_ms: int | None = None,
) -> list[Candle]:
    """The newest `limit` candles up to `until_ms` (inclusive), oldest first."""
    query = select(Candle).where(Candle.symbol == symbol, Candle.timeframe == timeframe)
    if until_ms is not None:
        query = query.where(Candle.open_time_ms <= until_ms)
    rows = session.exec(query.order_by(col(Candle.open_time_ms).desc()).limit(limit)).all()
    return list(reversed(rows))


def between(
    *,
    session: Session,
    symbol: str,
    timeframe: str,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> list[Candle]:
    """Candles with from_ms <= open time <= to_ms, oldest first."""
    query = select(Candle).where(Candle.symbol == symbol, Candle.timeframe == timeframe)
    if from_ms is not None:
        query = query.where(Candle.open_time_ms >= from_ms)
    if to_ms is not None:
        query = query.where(Candle.open_time_ms <= to_ms)
    return list(session.exec(query.order_by(col(Candle.open_time_ms))).all())


def last_price(*, session: Session, symbol: str) -> Decimal | None:
    """Close of the newest 1m candle of the symbol: the latest price botdesk knows."""
    query = (
        select(Candle.close)
        .where(Candle.symbol == symbol, Candle.timeframe == "1m")
        .order_by(col(Candle.open_time_ms).desc())
        .limit(1)
    )
    return session.exec(query).first()


def symbols(*, session: Session, timeframe: str = "1m") -> list[str]:
    query = select(Candle.symbol).where(Candle.timeframe == timeframe).distinct()
    return sorted(session.exec(query).all())
