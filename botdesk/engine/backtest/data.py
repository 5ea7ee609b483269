"""Where a backtest's candles come from: the bundled sample, the candle table, or a kline
CSV file, aggregated to the timeframe asked for and cut to the dates asked for.

A `History` is those candles loaded once, with their prices in units: backtests of many
parameter sets over one history (a sweep) pass it to `run_backtest` and pay for the
loading once; inside one `indicators.shared.shared_results()` scope they also share each
indicator (an EMA of one period is computed once for all the sets that use it).
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from botdesk.db import candles as candle_store
from botdesk.engine.backtest.simulate import CandleUnits
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import DEFAULT_MAX_GAP_MS, KlineFileError, format_ms, load_klines
from botdesk.engine.sample_data import UnknownSampleSymbol, sample_file
from botdesk.engine.timeframes import MINUTE_MS, UnknownTimeframe, aggregate, timeframe_ms

SAMPLE, CANDLES = "sample", "candles"


class BacktestDataError(ValueError):
    """The data asked for cannot be backtested; the message says why."""


@dataclass(frozen=True, eq=False)
class History:
    """The candles of one `load_candles` call, kept for many backtests over them."""

    source: str
    symbol: str
    timeframe: str
    from_ms: int | None
    to_ms: int | None
    max_gap_ms: int
    candles: CandleFrame

    @cached_property
    def units(self) -> CandleUnits:
        return CandleUnits.of(self.candles)

    def key(self) -> tuple:
        return (self.source, self.symbol, self.timeframe, self.from_ms, self.to_ms, self.max_gap_ms)


def load_history(
    source: str,
    *,
    symbol: str,
    timeframe: str,
    from_ms: int | None = None,
    to_ms: int | None = None,
    db=None,
    max_gap_ms: int = DEFAULT_MAX_GAP_MS,
) -> History:
    """`load_candles`, kept as a History (see the module docstring)."""
    candles = load_candles(
        source,
        symbol=symbol,
        timeframe=timeframe,
        from_ms=from_ms,
        to_ms=to_ms,
        db=db,
        max_gap_ms=max_gap_ms,
    )
    return History(source, symbol, timeframe, from_ms, to_ms, max_gap_ms, candles)


def load_candles(
    source: str,
    *,
    symbol: str,
    timeframe: str,
    from_ms: int | None = None,
    to_ms: int | None = None,
    db=None,
    max_gap_ms: int = DEFAULT_MAX_GAP_MS,
) -> CandleFrame:
    """Closed `timeframe` candles of `symbol` from `source`: "sample", "candles" (needs
    `db`) or the path of a kline CSV file."""
    try:
        timeframe_ms(timeframe)
        if source == SAMPLE:
            frame, interval = load_klines(sample_file(symbol)).candles, MINUTE_MS
        elif source == CANDLES:
            frame, interval = _stored(db, symbol, timeframe)
        else:
            klines = load_klines(Path(source), max_gap_ms=max_gap_ms)
            if klines.symbol and klines.symbol != symbol.upper():
                raise BacktestDataError(
                    f"{source} holds {klines.symbol} klines (by its name), not {symbol}"
                )
            frame, interval = klines.candles, klines.interval_ms
        frame = aggregate(frame, timeframe, source_interval_ms=interval)
    except (KlineFileError, UnknownSampleSymbol, UnknownTimeframe) as error:
        raise BacktestDataError(str(error)) from None
    except ValueError as error:
        if isinstance(error, BacktestDataError):
            raise
        raise BacktestDataError(f"{source}: {error}") from None
    cut = frame.between(from_ms, to_ms)
    if len(cut) < 2:
        window = f"{format_ms(from_ms) if from_ms else 'the start'} and " + (
            format_ms(to_ms) if to_ms else "the end"
        )
        raise BacktestDataError(
            f"fewer than 2 {timeframe} candles of {symbol} between {window} "
            f"(the data runs from {_span(frame)})"
        )
    return cut


def _span(frame: CandleFrame) -> str:
    if not len(frame):
        return "nothing"
    return f"{format_ms(frame.open_time_ms[0])} to {format_ms(frame.open_time_ms[-1])}"


def _stored(db, symbol: str, timeframe: str) -> tuple[CandleFrame, int]:
    if db is None:
        raise BacktestDataError("the candle table needs a database")
    with db.reading() as session:
        rows = candle_store.between(session=session, symbol=symbol, timeframe=timeframe)
        if rows:
            return CandleFrame.from_rows(rows), timeframe_ms(timeframe)
        rows = candle_store.between(session=session, symbol=symbol, timeframe="1m")
    if not rows:
        raise BacktestDataError(f"no stored candles of {symbol} (timeframe {timeframe} or 1m)")
    return CandleFrame.from_rows(rows), MINUTE_MS
