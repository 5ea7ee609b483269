"""The strategy contract: a parameter model and one vectorized method, candles -> signals.

A strategy is a class with a pydantic `Params` model (bounds, defaults and a description
per field: the desk builds its forms from the JSON schema) and one method, `signals`,
from a `CandleFrame` to a `SignalFrame` with one row per candle. Row t may use candles
0..t only; the signal is decided on the close of candle t and acted on at the open of
candle t+1. The live engine calls it on the latest window and reads the last rows; the
backtest calls it once on the whole history. Same method, same answers.

A strategy may read longer timeframes than its bot's: it declares them
(`higher_timeframes = ("1h", "4h")`, or a property when a parameter chooses them) and
reads each with `self.higher(candles, "1h")`: the closed 1h candles built from its own
candles, and per candle which of them had closed by its close (`botdesk.engine.higher`).
"""

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.higher import HigherFrame, with_higher
from botdesk.engine.indicators import atr
from botdesk.engine.timeframes import timeframe_ms

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
    # the longer timeframes the strategy reads (its candles carry them); a property when
    # the parameters choose them
    higher_timeframes: tuple[str, ...] = ()
    # closed candles of each higher timeframe the rule needs before it can signal
    higher_lookback: int = 0
    # its signals are a function of its class, its parameters and the candles alone (no
    # model, file or clock): bots with the same ones on the same window of the same
    # candle share one evaluation (`botdesk.engine.batch.plans.Evaluations`)
    pure: ClassVar[bool] = False

    def __init__(self, params: StrategyParams | dict | None = None):
        if isinstance(params, StrategyParams):
            self.params = params
        else:
            self.params = self.Params.model_validate(params or {})

    @property
    def params_key(self) -> str:
        """The parameters as JSON, made once per instance (they are frozen; a new
        parameters object is serialized afresh): part of a shared evaluation's key."""
        made = self.__dict__.get("_params_key")
        if made is None or made[0] is not self.params:
            made = self._params_key = (self.params, self.params.model_dump_json())
        return made[1]

    @property
    @abstractmethod
    def lookback(self) -> int:
        """Candles of history the rule needs before it can signal."""

    @abstractmethod
    def signals(self, candles: CandleFrame) -> SignalFrame:
        """One row per candle: side, confidence, stop, take-profit, reason."""

    def candles_needed(self, interval_ms: int) -> int:
        """Candles of `interval_ms` (the bot's timeframe) the rule needs: its lookback, or
        enough to hold `higher_lookback` closed candles of each higher timeframe (one more
        for the one the first candle may start inside of)."""
        needed = self.lookback
        for timeframe in self.higher_timeframes:
            ratio = max(1, timeframe_ms(timeframe) // interval_ms)
            needed = max(needed, (self.higher_lookback + 1) * ratio)
        return needed

    def higher(self, candles: CandleFrame, timeframe: str) -> HigherFrame:
        """`timeframe`'s closed candles along `candles` (one of `higher_timeframes`): what
        the engine gave with them, or built from them when called on bare candles."""
        if candles.higher is None:
            candles = with_higher(candles, tuple(self.higher_timeframes))
        return candles.higher[timeframe]

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
