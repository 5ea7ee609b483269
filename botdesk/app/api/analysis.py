"""The analysis of a symbol's stored candles: SMC, volume profile, order flow, multi-
timeframe confluence and setups, each computed by the engine's own functions
(`botdesk.engine.analysis`) as of the window's last closed candle. The definitions are in
docs/market-data.md."""

from decimal import Decimal

from flask import jsonify
from pydantic import Field, field_validator
from sqlmodel import Session

from botdesk.app.api import analysis_json as shown
from botdesk.app.api import analysis_schemas as schemas
from botdesk.app.api.candle_windows import (
    DEFAULT_CANDLES,
    SwingQuery,
    WindowQuery,
    candles_of,
    interval,
    known_symbol,
)
from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import Query, RecordId, UtcTime
from botdesk.app.api.routing import operation
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.market_data import NoCandles, reference_frame, timeframe_frames
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Bot, Scope
from botdesk.engine.analysis import (
    NoOrderFlow,
    NotEnoughHistory,
    find_setups,
    order_flow,
    period_levels,
    profile_levels,
    read_timeframes,
    score_readings,
    smc_analysis,
)
from botdesk.engine.frames import CandleFrame, to_decimal
from botdesk.engine.indicators import BULLISH
from botdesk.engine.sizing import size_entry
from botdesk.engine.timeframes import FILE_INTERVALS, timeframe_ms

MIN_CANDLES = 50
DEFAULT_TIMEFRAMES = "5m,15m,1h,4h"
_ONE = "|".join(FILE_INTERVALS)


def _window_header(frame: CandleFrame, symbol: str, timeframe: str) -> dict:
    return shown.window_json(frame, symbol, timeframe, interval(timeframe))


def _window_of(symbol: str, query: WindowQuery, minimum: int, needs: str) -> CandleFrame:
    """The stored candles of the query's window (a 404 or 422 when they cannot serve)."""
    with desk_db().reading() as session:
        return candles_of(session, symbol, query.window(), minimum=minimum, needs=needs)


def analysis_operation(name: str, *, summary: str, query, response: dict, description: str):
    """Register GET /analysis/<symbol>/<name>: read scope, a 400, 404 or 422 when refused."""
    return operation(
        "GET",
        f"/analysis/<symbol>/{name}",
        summary=summary,
        tag="analysis",
        scope=Scope.READ,
        query=query,
        response=response,
        errors=(400, 404, 422),
        description=description,
    )


@analysis_operation(
    "smc",
    summary="Structure, zones, liquidity, ranges, levels, sessions and candle patterns",
    query=SwingQuery,
    response=schemas.SMC,
    description="Swings; breaks of structure (BOS) and changes of character (CHoCH) with the "
    "trend; fair value gaps with their fill; order blocks with mitigation, break and a "
    "strength (0-100); liquidity pools (equal highs or lows of two or more touches) and "
    "their sweeps; the dealing range (premium/discount, retracement) and the Fibonacci "
    "levels of its leg; the previous day's and week's high and low, broken or not; the "
    "Asia, London and New York sessions' ranges; candlestick patterns of the last 10 "
    f"candles. As of the close of the window's last candle; at least {MIN_CANDLES} "
    "candles.",
)
def smc(symbol: str, holder: KeyHolder, query: SwingQuery):
    window = query.window()
    with desk_db().reading() as session:
        frame = candles_of(session, symbol, window, minimum=MIN_CANDLES, needs="the analysis")
        reference = reference_frame(session, symbol, frame, window.timeframe)
    reading = smc_analysis(frame, swing=query.swing)
    times, high, low = reference.open_time_ms, reference.high, reference.low
    day, week = period_levels(times, high, low, "day"), period_levels(times, high, low, "week")
    return jsonify(
        **_window_header(frame, symbol, window.timeframe), **shown.smc_json(reading, day, week)
    )


class ProfileQuery(WindowQuery):
    bins: int = Field(48, ge=5, le=200, description="Price bins between the low and the high.")
    value_area: float = Field(
        0.70, ge=0.5, le=0.95, description="Share of the volume in the value area."
    )


@analysis_operation(
    "volume-profile",
    summary="Point of control, value area, high- and low-volume nodes",
    query=ProfileQuery,
    response=schemas.PROFILE,
    description="The volume of the window's candles by price (each candle's volume spread "
    "evenly over its range). At least 10 candles.",
)
def volume_profile(symbol: str, holder: KeyHolder, query: ProfileQuery):
    frame = _window_of(symbol, query, 10, "a volume profile")
    levels = profile_levels(
        frame.high, frame.low, frame.volume, bins=query.bins, value_area=query.value_area
    )
    return jsonify(**_window_header(frame, symbol, query.timeframe), **shown.profile_json(levels))


@analysis_operation(
    "order-flow",
    summary="Delta, cumulative delta, imbalance, absorption, exhaustion, divergences",
    query=SwingQuery,
    response=schemas.ORDER_FLOW,
    description="From Binance's taker-buy volume, candle by candle (422 `no_order_flow` "
    "when the stored candles do not carry it). At least 30 candles.",
)
def order_flow_of(symbol: str, holder: KeyHolder, query: SwingQuery):
    frame = _window_of(symbol, query, 30, "order flow")
    try:
        flow = order_flow(frame, swing=query.swing)
    except NoOrderFlow as error:
        raise ApiError(422, "no_order_flow", f"{symbol} {query.timeframe}: {error}") from None
    return jsonify(
        **_window_header(frame, symbol, query.timeframe), **shown.order_flow_json(frame, flow)
    )


class ConfluenceQuery(Query):
    timeframes: str = Field(
        DEFAULT_TIMEFRAMES,
        pattern=rf"^({_ONE})(,({_ONE})){{0,4}}$",
        description="Comma-separated, 1 to 5 of " + ", ".join(FILE_INTERVALS) + "; the "
        "shortest is the base.",
    )
    limit: int = Field(
        DEFAULT_CANDLES, ge=MIN_CANDLES, le=1000, description="Candles of each timeframe."
    )
    to: UtcTime | None = Field(
        None, description="As of the close of the base's last candle opened at or before it."
    )
    swing: int = Field(5, ge=2, le=20, description="Candles on each side of a fractal swing.")

    @field_validator("timeframes")
    @classmethod
    def _shortest_first(cls, value: str) -> str:
        return ",".join(sorted(set(value.split(",")), key=timeframe_ms))


def _readings(symbol: str, query: ConfluenceQuery):
    """(as_of_ms, readings) of the timeframes asked for, or a 404/422."""
    to_ms = None if query.to is None else int(query.to.timestamp() * 1000)
    with desk_db().reading() as session:
        try:
            as_of, frames = timeframe_frames(
                session=session,
                symbol=symbol,
                timeframes=query.timeframes.split(","),
                limit=query.limit,
                to_ms=to_ms,
            )
        except NoCandles as missing:
            stored = known_symbol(session, symbol)
            raise ApiError(
                404,
                "no_candles",
                f"no {missing.timeframe} candles of {symbol} in the window (it has "
                f"{', '.join(stored)})",
            ) from None
    try:
        return read_timeframes(frames, as_of_ms=as_of, swing=query.swing, min_candles=MIN_CANDLES)
    except NotEnoughHistory as error:
        raise ApiError(422, "not_enough_history", f"{symbol}: {error}") from None


@analysis_operation(
    "confluence",
    summary="A 0-100 score of how far the timeframes agree, its components and zones",
    query=ConfluenceQuery,
    response=schemas.CONFLUENCE,
    description="Trend alignment (35), SMC zones near the price (25), volume-profile levels "
    "(20) and order flow (20), each with its contribution, as of the close of the base "
    "timeframe's last candle (a longer timeframe's candle counts once closed); the price "
    f"zones where two sources or more coincide. At least {MIN_CANDLES} closed candles of "
    "each timeframe.",
)
def confluence_of(symbol: str, holder: KeyHolder, query: ConfluenceQuery):
    as_of, readings = _readings(symbol, query)
    found = score_readings(readings, as_of_ms=as_of)
    return jsonify(symbol=symbol, **shown.confluence_json(found))


class SetupsQuery(ConfluenceQuery):
    bot_id: RecordId | None = Field(
        None, description="Size with this bot's capital and effective risk limits."
    )
    capital: str | None = Field(
        None,
        pattern=r"^[0-9]{1,12}(\.[0-9]{1,8})?$",
        description="Size with this capital (quote currency, e.g. 10000) and the global "
        "risk limits.",
    )


def _sizer(session: Session, query: SetupsQuery):
    """A function from a setup to its size, as the engine would size the entry."""
    settings = desk_settings()
    if query.bot_id is not None:
        bot = session.get(Bot, query.bot_id)
        if bot is None:
            raise ApiError(404, "not_found", f"no bot {query.bot_id}")
    elif query.capital is not None:
        bot = Bot(capital=Decimal(query.capital))  # not stored: the global limits apply
    else:
        bot = None

    def size(setup) -> dict:
        if setup.direction != BULLISH:
            return {"quantity": None, "notional": None, "note": "spot bots trade long only"}
        if bot is None:
            return {"quantity": None, "notional": None, "note": "give capital or bot_id"}
        entry, stop = to_decimal(setup.entry), to_decimal(setup.stop)
        quantity = size_entry(
            session=session,
            bot=bot,
            price=entry,
            stop=stop,
            cash=bot.capital,
            position_quantity=Decimal(0),
            fee_rate=settings.FEE_RATE,
            slippage_bps=settings.SLIPPAGE_BPS,
        )
        return {
            "quantity": format(quantity, "f"),
            "notional": format(to_decimal(float(quantity * entry)), "f"),
            "note": f"capital {format(bot.capital.normalize(), 'f')}, risk limits "
            + (f"of bot {bot.id}" if bot.id is not None else "global"),
        }

    return size


@analysis_operation(
    "setups",
    summary="Current setups: direction, confidence, entry, stop, take-profit, reward/risk, size",
    query=SetupsQuery,
    response=schemas.SETUPS,
    description="Where the base timeframe's last candle traded into an order block or a "
    "fair value gap, or swept liquidity and closed back; sized as the engine sizes an entry "
    "(risk per trade from the stop distance, capped by the max position and the capital; "
    "long only, spot) with a bot's capital and limits (`bot_id`) or a capital and the "
    "global limits (`capital`).",
)
def setups_of(symbol: str, holder: KeyHolder, query: SetupsQuery):
    as_of, readings = _readings(symbol, query)
    found, scored = find_setups(readings, as_of_ms=as_of)
    base = next(iter(readings.values()))
    times = shown.iso_times(base.frame.open_time_ms)
    with desk_db().reading() as session:
        size = _sizer(session, query)
        rows = [shown.setup_json(setup, times, size(setup)) for setup in found]
    return jsonify(
        symbol=symbol,
        as_of=shown.iso(as_of),
        price=shown.number(base.frame.close[-1]),
        scores={
            "long": shown.number(scored[BULLISH].score),
            "short": shown.number(scored[-BULLISH].score),
        },
        setups=rows,
    )
