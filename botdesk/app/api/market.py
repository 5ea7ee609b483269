"""Market data: a symbol's stored candles (OHLCV and Binance's extra fields) and its 24-hour
ticker, as the engine stored them."""

from flask import jsonify

from botdesk.app.api import analysis_schemas as schemas
from botdesk.app.api.analysis_json import iso, iso_times, ticker_json
from botdesk.app.api.candle_windows import (
    DEFAULT_CANDLES,
    WindowQuery,
    interval,
    known_symbol,
    rows_of,
)
from botdesk.app.api.routing import operation
from botdesk.app.context import desk_db
from botdesk.app.market_data import Window, read_window
from botdesk.db.api_keys import KeyHolder
from botdesk.db.candles import UNITS_COLUMNS
from botdesk.db.models import Scope
from botdesk.engine.analysis import ticker
from botdesk.engine.analysis.ticker import DAY_MS

_FLOW_VOLUMES = ("quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume")


_UNIT = 10**8
_MONEY_COLUMNS = [UNITS_COLUMNS.index(name) for name in ("open", "high", "low", "close", "volume")]
_FLOW_COLUMNS = [UNITS_COLUMNS.index(name) for name in _FLOW_VOLUMES]
_TRADES = UNITS_COLUMNS.index("trades")


def units_text(units: int) -> str | None:
    """Integer units of 1e-8 as the API writes money: exact, 8 decimals; -1 is unknown."""
    if units < 0:
        return None
    whole, part = divmod(units, _UNIT)
    return f"{whole}.{part:08d}"


def candles_json(rows: list[tuple[int, ...]]) -> list[dict]:
    times = iso_times([row[0] for row in rows])
    found = []
    for row, time in zip(rows, times, strict=True):
        candle = {"open_time": time, "open_time_ms": row[0]}
        for name, index in zip(
            ("open", "high", "low", "close", "volume"), _MONEY_COLUMNS, strict=True
        ):
            whole, part = divmod(row[index], _UNIT)
            candle[name] = f"{whole}.{part:08d}"
        for name, index in zip(_FLOW_VOLUMES, _FLOW_COLUMNS, strict=True):
            candle[name] = units_text(row[index])
        candle["trades"] = row[_TRADES] if row[_TRADES] >= 0 else None
        found.append(candle)
    return found


@operation(
    "GET",
    "/market/<symbol>/candles",
    summary="A symbol's stored candles (OHLCV, quote volume, trades, taker-buy volumes)",
    tag="market",
    scope=Scope.READ,
    query=WindowQuery,
    response=schemas.CANDLES,
    errors=(400, 404, 422),
    description="Oldest first. Prices and volumes are exact decimal strings; Binance's "
    "extra fields are null where the source did not give them. The window is the `limit` "
    f"newest candles (default {DEFAULT_CANDLES}) up to `to`, or every candle from `from` "
    "to `to`.",
)
def candles(symbol: str, holder: KeyHolder, query: WindowQuery):
    window = query.window()
    with desk_db().reading() as session:
        rows = rows_of(session, symbol, window, needs="an answer")
    first, last = rows[0][0], rows[-1][0]
    return jsonify(
        symbol=symbol,
        timeframe=window.timeframe,
        candles=len(rows),
        first=iso(first),
        last=iso(last),
        as_of=iso(last + interval(window.timeframe)),
        items=candles_json(rows),
    )


@operation(
    "GET",
    "/market/<symbol>/ticker",
    summary="Last price, 24-hour change, high, low and volume",
    tag="market",
    scope=Scope.READ,
    response=schemas.TICKER,
    errors=(404,),
    description="From the shortest stored timeframe that has the newest candle: `last` is "
    "the close of the newest closed candle (`as_of` is when it closed), the 24 hours the "
    "candles that opened in the day before. `complete` is false when candles are missing.",
)
def ticker_of(symbol: str, holder: KeyHolder):
    with desk_db().reading() as session:
        stored = known_symbol(session, symbol)
        newest = max(latest + interval(tf) for tf, latest in stored.items())
        timeframe = next(tf for tf, latest in stored.items() if latest + interval(tf) == newest)
        length = interval(timeframe)
        frame = read_window(
            session=session,
            symbol=symbol,
            window=Window(timeframe=timeframe, limit=DAY_MS // length + 1),
        )
    return jsonify(ticker_json(symbol, timeframe, ticker(frame, length)))
