"""Calling strategy code safely: whatever it raises or returns, the engine gets either a
well-formed signal frame or a `StrategyError` it turns into a bot error."""

import traceback

import numpy as np

from botdesk.engine.frame_kernels import (
    BAD_CONFIDENCE,
    BAD_SIDE,
    BAD_STOP,
    BAD_TARGET,
    first_bad_row,
)
from botdesk.engine.frames import BUY, NO_SIGNAL, SELL, CandleFrame, SignalFrame
from botdesk.engine.higher import HigherTimeframeError, with_higher
from botdesk.engine.strategies.base import Strategy


class StrategyError(Exception):
    """The strategy raised or returned something unusable; the message says what (and
    where in the strategy's code), `traceback` the whole story."""

    def __init__(self, message: str, traceback_text: str = ""):
        super().__init__(message)
        self.traceback = traceback_text


def evaluate(
    strategy: Strategy,
    candles: CandleFrame,
    *,
    interval_ms: int | None = None,
) -> SignalFrame:
    """The strategy's signals on `candles` (of `interval_ms`, read from the frame when not
    given), carrying the higher timeframes it declares unless they already do (the
    engine builds them once for all the bots of a candle)."""
    timeframes = strategy.higher_timeframes
    if timeframes and candles.higher is None:
        try:
            candles = with_higher(candles, tuple(timeframes), interval_ms=interval_ms)
        except HigherTimeframeError as error:
            raise StrategyError(f"strategy {strategy.name}: {error}") from None
    try:
        frame = strategy.signals(candles)
    except Exception as error:
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        raise StrategyError(
            f"strategy {strategy.name} raised {type(error).__name__}: {error}{where}",
            "".join(traceback.format_exception(error)),
        ) from error
    _check(strategy, candles, frame)
    return frame


def _check(strategy: Strategy, candles: CandleFrame, frame) -> None:
    def refuse(problem: str):
        raise StrategyError(f"strategy {strategy.name} returned {problem}")

    if not isinstance(frame, SignalFrame):
        refuse(f"a {type(frame).__name__}, not a SignalFrame")
    if len(frame) != len(candles) or any(
        len(column) != len(candles)
        for column in (frame.confidence, frame.stop, frame.take_profit, frame.reason)
    ):
        refuse(f"{len(frame)} rows for {len(candles)} candles")
    problem, row = _first_bad_row(frame, candles)
    if problem == BAD_SIDE:
        refuse("a side other than buy (1), sell (-1) or nothing (0)")
    if problem == BAD_CONFIDENCE:
        refuse("a confidence outside 0..1")
    if problem == BAD_STOP:
        refuse(
            f"a buy with its stop {frame.stop[row]:g} not below the close {candles.close[row]:g}"
        )
    if problem == BAD_TARGET:
        refuse(
            f"a buy with its take-profit {frame.take_profit[row]:g} not above the close "
            f"{candles.close[row]:g}"
        )


def _first_bad_row(frame: SignalFrame, candles: CandleFrame) -> tuple[int, int]:
    """One compiled pass for numeric columns; numpy for anything else a strategy returned."""
    columns = (frame.side, frame.confidence, frame.stop, frame.take_profit)
    if all(isinstance(c, np.ndarray) and c.dtype.kind in "iuf" for c in columns):
        return first_bad_row(*columns, candles.close)
    side = np.asarray(frame.side)
    if not ((side == NO_SIGNAL) | (side == BUY) | (side == SELL)).all():
        return BAD_SIDE, -1
    confidence = np.asarray(frame.confidence, dtype=np.float64)[side != NO_SIGNAL]
    if not (np.isfinite(confidence) & (confidence >= 0) & (confidence <= 1)).all():
        return BAD_CONFIDENCE, -1
    buys = side == BUY
    stop, target = (np.asarray(c, dtype=np.float64) for c in columns[2:])
    with np.errstate(invalid="ignore"):
        bad_stop = buys & ~np.isnan(stop) & ~(stop < candles.close)
        bad_target = buys & ~np.isnan(target) & ~(target > candles.close)
    if bad_stop.any():
        return BAD_STOP, int(np.argmax(bad_stop))
    if bad_target.any():
        return BAD_TARGET, int(np.argmax(bad_target))
    return 0, -1
