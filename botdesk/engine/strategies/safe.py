"""Calling strategy code safely: whatever it raises or returns, the engine gets either a
well-formed signal frame or a `StrategyError` it turns into a bot error."""

import traceback

import numpy as np

from botdesk.engine.frames import BUY, NO_SIGNAL, SELL, CandleFrame, SignalFrame
from botdesk.engine.strategies.base import Strategy


class StrategyError(Exception):
    """The strategy raised or returned something unusable; the message says what (and
    where in the strategy's code), `traceback` the whole story."""

    def __init__(self, message: str, traceback_text: str = ""):
        super().__init__(message)
        self.traceback = traceback_text


def evaluate(strategy: Strategy, candles: CandleFrame) -> SignalFrame:
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
    if not ((frame.side == NO_SIGNAL) | (frame.side == BUY) | (frame.side == SELL)).all():
        refuse("a side other than buy (1), sell (-1) or nothing (0)")
    active = frame.side != NO_SIGNAL
    confidence = frame.confidence[active]
    if not (np.isfinite(confidence) & (confidence >= 0) & (confidence <= 1)).all():
        refuse("a confidence outside 0..1")
    buys = frame.side == BUY
    with np.errstate(invalid="ignore"):
        bad_stop = buys & ~np.isnan(frame.stop) & ~(frame.stop < candles.close)
        bad_target = buys & ~np.isnan(frame.take_profit) & ~(frame.take_profit > candles.close)
    if bad_stop.any():
        row = int(np.argmax(bad_stop))
        refuse(
            f"a buy with its stop {frame.stop[row]:g} not below the close {candles.close[row]:g}"
        )
    if bad_target.any():
        row = int(np.argmax(bad_target))
        refuse(
            f"a buy with its take-profit {frame.take_profit[row]:g} not above the close "
            f"{candles.close[row]:g}"
        )
