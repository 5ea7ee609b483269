"""The candle table: closed candles per (symbol, timeframe), written by the engine's feed.

`upsert` never duplicates a candle: the primary key is (symbol, timeframe, open_time_ms)
and a candle already stored is overwritten with the new values (a feed may send a candle
again after a restart). Binance's extra fields (quote volume, trade count, taker-buy
volumes) are overwritten only by a known value: a source without them never erases them.
Works on SQLite and PostgreSQL alike.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from sqlalchemy import BigInteger, type_coerce
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from botdesk.db.models import Candle

_VALUES = ("open", "high", "low", "close", "volume")
FLOW = ("quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume")
_BATCH = 500


def upsert(*, session: Session, candles: Iterable[Mapping]) -> int:
    """Insert or overwrite candles given as mappings with symbol, timeframe, open_time_ms,
    open, high, low, close, volume (Decimals) and optionally the FLOW fields (Decimals,
    the trade count an int; None or absent where unknown). Returns how many were written."""
    rows = [{**dict.fromkeys(FLOW), **candle} for candle in candles]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = Candle.__table__
    for start in range(0, len(rows), _BATCH):
        statement = insert(Candle).values(rows[start : start + _BATCH])
        kept = {name: func.coalesce(statement.excluded[name], table.c[name]) for name in FLOW}
        statement = statement.on_conflict_do_update(
            index_elements=["symbol", "timeframe", "open_time_ms"],
            set_={**{name: statement.excluded[name] for name in _VALUES}, **kept},
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


def open_times(
    *, session: Session, symbol: str, timeframe: str, from_ms: int, to_ms: int
) -> list[int]:
    """Open times of the stored candles with from_ms <= open time <= to_ms, ascending."""
    query = select(Candle.open_time_ms).where(
        Candle.symbol == symbol,
        Candle.timeframe == timeframe,
        Candle.open_time_ms >= from_ms,
        Candle.open_time_ms <= to_ms,
    )
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


def symbols(*, session: Session, timeframe: str | None = "1m") -> list[str]:
    """The symbols with candles of `timeframe` (of any timeframe for None)."""
    query = select(Candle.symbol).distinct()
    if timeframe is not None:
        query = query.where(Candle.timeframe == timeframe)
    return sorted(session.exec(query).all())


UNITS_COLUMNS = ("open_time_ms", *_VALUES, *FLOW)  # the order of `units_window`'s tuples


def units_window(
    *,
    session: Session,
    symbol: str,
    timeframe: str,
    limit: int | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> list[tuple[int, ...]]:
    """Candles as plain integers, oldest first, in UNITS_COLUMNS order: the open time in
    ms, the prices and volumes in units of 1e-8 (not Decimals: for the analysis, which
    works in floats), the trade count; -1 where a flow field is unknown. The newest
    `limit` with from_ms <= open time <= to_ms (either bound optional)."""
    table = Candle.__table__
    units = [type_coerce(table.c[name], BigInteger) for name in _VALUES]
    flow = [func.coalesce(type_coerce(table.c[name], BigInteger), -1) for name in FLOW]
    query = select(table.c.open_time_ms, *units, *flow).where(
        table.c.symbol == symbol, table.c.timeframe == timeframe
    )
    if to_ms is not None:
        query = query.where(table.c.open_time_ms <= to_ms)
    if from_ms is not None:
        query = query.where(table.c.open_time_ms >= from_ms)
    query = query.order_by(table.c.open_time_ms.desc()).limit(limit)
    return [tuple(row) for row in reversed(session.execute(query).all())]
