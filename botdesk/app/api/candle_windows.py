"""What the market and analysis endpoints share: the window parameters, the stored candles
they select, and the refusals (unknown symbol, too little history), each a clear 4xx."""

from typing import Annotated, Literal

from pydantic import Field
from sqlmodel import Session

from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import Query, UtcTime
from botdesk.app.market_data import (
    MAX_WINDOW,
    UnknownSymbol,
    Window,
    WindowTooLarge,
    frame_from_units,
    require_symbol,
    window_rows,
)
from botdesk.engine.frames import CandleFrame
from botdesk.engine.timeframes import FILE_INTERVALS, timeframe_ms

Timeframe = Literal[tuple(FILE_INTERVALS)]
DEFAULT_CANDLES = 600


class WindowQuery(Query):
    """A window of stored candles of one timeframe."""

    timeframe: Timeframe = Field("5m", description="Candle interval.")
    limit: int | None = Field(
        None,
        ge=1,
        le=1000,
        description=f"The newest candles up to `to` (default {DEFAULT_CANDLES}); not with `from`.",
    )
    from_: UtcTime | None = Field(
        None,
        alias="from",
        description=f"First open time (ISO 8601): every candle from it to `to`, at most "
        f"{MAX_WINDOW}.",
    )
    to: UtcTime | None = Field(
        None, description="Last open time (ISO 8601); default: the newest stored candle."
    )

    def window(self, default_limit: int = DEFAULT_CANDLES) -> Window:
        """The window asked for (a `from` after `to` selects nothing)."""
        return Window(
            timeframe=self.timeframe,
            limit=self.limit or (None if self.from_ is not None else default_limit),
            from_ms=_ms(self.from_),
            to_ms=_ms(self.to),
        )


class SwingQuery(WindowQuery):
    swing: Annotated[int, Field(ge=2, le=20)] = Field(
        5, description="Candles on each side of a fractal swing."
    )


def _ms(moment) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def known_symbol(session: Session, symbol: str) -> dict[str, int]:
    """The symbol's stored timeframes, or a 404."""
    try:
        return require_symbol(session=session, symbol=symbol)
    except UnknownSymbol as error:
        raise ApiError(404, "unknown_symbol", str(error)) from None


def candles_of(
    session: Session, symbol: str, window: Window, *, minimum: int = 1, needs: str = ""
) -> CandleFrame:
    """The window's candles, or a 404 (unknown symbol, no candle of this timeframe) or a
    422 (fewer than `minimum` candles, `needs` saying what for)."""
    return frame_from_units(rows_of(session, symbol, window, minimum=minimum, needs=needs))


def rows_of(
    session: Session, symbol: str, window: Window, *, minimum: int = 1, needs: str = ""
) -> list[tuple[int, ...]]:
    """`candles_of` as `candles.units_window` rows (one query when there are candles; the
    symbol's other timeframes are looked up only to say why there are none)."""
    try:
        rows = window_rows(session=session, symbol=symbol, window=window)
    except WindowTooLarge as error:
        raise ApiError(400, "invalid_parameter", str(error)) from None
    if not rows:
        stored = known_symbol(session, symbol)
        if window.timeframe not in stored:
            have = ", ".join(stored)
            raise ApiError(
                404,
                "no_candles",
                f"no {window.timeframe} candles of {symbol} are stored (it has {have})",
            )
        raise ApiError(
            404, "no_candles", f"no {window.timeframe} candles of {symbol} in the window"
        )
    if len(rows) < minimum:
        raise ApiError(
            422,
            "not_enough_history",
            f"{len(rows)} {window.timeframe} candles of {symbol} in the window; "
            f"{needs or 'this'} needs at least {minimum}",
        )
    return rows


def interval(timeframe: str) -> int:
    return timeframe_ms(timeframe)
