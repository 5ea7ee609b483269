"""The strategy contract: a parameter model and one vectorized method, candles -> signals.

A strategy is a class with a pydantic `Params` model (bounds, defaults and a description
per field: the desk builds its forms from the JSON schema) and one method, `signals`,
from a `CandleFrame` to a `SignalFrame` with one row per candle. Row t may use candles
0..t only; the signal is decided on the close of candle t and acted on at the open of
candle t+1. The live engine calls it on the latest window and reads the last rows; the
backtest calls it once on the whole history. Same method, same answers.
"""

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.indicators import atr

ATR_PERIOD = 14


class StrategyParams(BaseModel):
    """Parameters every strategy has; each strategy's model adds its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stop_atr: float = Field(
        2.0,
        ge=0,
        le=20,
        description="Stop-loss distance below the entry candle's close, in multiples of "
        f"ATR({ATR_PERIOD}). 0 means no stop.",
    )


def fast_below_slow(params):
    """A model validator for parameter models with `fast` and `slow` periods."""
    if params.fast >= params.slow:
        raise ValueError("fast must be below slow")
    return params


MAX_HISTORY_CANDLES = 5000  # the longest history the engine gives a bot's strategy


class Strategy(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, params: StrategyParams | dict | None = None):
        if isinstance(params, StrategyParams):
            self.params = params
        else:
            self.params = self.Params.model_validate(params or {})

    @property
    @abstractmethod
    def lookback(self) -> int:
        """Candles of history the rule needs before it can signal."""

    @abstractmethod
    def signals(self, candles: CandleFrame) -> SignalFrame:
        """One row per candle: side, confidence, stop, take-profit, reason."""

    def atr_stop(self, candles: CandleFrame) -> np.ndarray | None:
        """close - stop_atr x ATR(14) per candle, or None when stop_atr is 0."""
        if self.params.stop_atr == 0:
            return None
        return candles.close - self.params.stop_atr * atr(
            candles.high, candles.low, candles.close, ATR_PERIOD
        )

    @classmethod
    def description(cls) -> str:
        return (cls.__doc__ or "").strip()


def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at t where a[t-1] <= b[t-1] and a[t] > b[t] (False where either is NaN)."""
    out = np.zeros(len(a), dtype=bool)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[:-1] <= b[:-1]) & (a[1:] > b[1:])
    return out


def crossed_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at t where a[t-1] >= b[t-1] and a[t] < b[t] (False where either is NaN)."""
    return crossed_above(b, a)
