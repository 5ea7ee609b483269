"""confluence: trades the multi-timeframe confluence score of
`botdesk.engine.analysis.confluence`, each timeframe read once its candles have closed."""

import hashlib
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from botdesk.engine.analysis.confluence import common_parts, score_readings
from botdesk.engine.analysis.smc import smc_analysis
from botdesk.engine.frames import FLOW_COLUMNS, PRICE_COLUMNS, CandleFrame, SignalFrame
from botdesk.engine.higher import HigherFrame, with_higher
from botdesk.engine.indicators import BULLISH
from botdesk.engine.indicators.shared import unshared
from botdesk.engine.strategies.base import Strategy, StrategyParams
from botdesk.engine.timeframes import interval_name, timeframe_ms

WINDOW = 50  # candles of each timeframe a score reads (the analysis's least)
SWING = 5  # the analysis's swing, as the Market page and the API read it
TIMEFRAME_CHOICES = ("15m,1h,4h", "15m,1h", "1h,4h", "1h", "4h", "5m,15m,1h", "5m,15m")
MEMO_LIMIT = 100_000  # scores kept between evaluations (some 30 MB at most)


class ConfluenceParams(StrategyParams):
    timeframes: Literal[TIMEFRAME_CHOICES] = Field(  # type: ignore[valid-type]
        "15m,1h,4h",
        description="The higher timeframes read with the bot's own, comma-separated; each a "
        "whole multiple of the bot's timeframe (15m,1h,4h for a 5m bot, 5m,15m for a 1m bot).",
    )
    entry_score: float = Field(
        55.0,
        ge=30,
        le=95,
        description="Least bullish confluence score (0-100) to enter, with the timeframes' "
        "weighted trend bullish.",
    )
    exit_score: float = Field(
        30.0,
        ge=5,
        le=80,
        description="Exit when the bullish score falls below it; below entry_score.",
    )

    @model_validator(mode="after")
    def _exit_below_entry(self):
        if self.exit_score >= self.entry_score:
            raise ValueError("exit_score must be below entry_score")
        return self


class Confluence(Strategy):
    """Enters when the timeframes agree: the multi-timeframe confluence score of the bot's
    timeframe and `timeframes`, scored for the bullish direction
    (`botdesk.engine.analysis.confluence`: trend 35, zones 25, volume profile 20, order
    flow 20; order flow counted only where the candles carry taker volume).

    The score at candle t reads the last 50 candles of the bot's timeframe up to t and the
    last 50 closed candles of each higher timeframe (the ones closed by t's close; structure
    with 5-candle swings); it is undefined (no signal) until every timeframe has 50.
    Buy at t: the weighted trend of the timeframes is bullish and the score is at least
    `entry_score` at t but was not at t-1. Sell at t: the score is below `exit_score` at t
    but was not at t-1. Confidence: the score / 100 for a buy, 1.0 for a sell. Stop:
    close[t] - stop_atr x ATR(14)[t]; no take-profit (the exit score exits).
    """

    name = "confluence"
    pure = True
    title = "Multi-timeframe confluence"
    Params = ConfluenceParams
    higher_lookback = WINDOW + 2  # the score at t and at t-1

    @property
    def higher_timeframes(self) -> tuple[str, ...]:
        return tuple(self.params.timeframes.split(","))

    @property
    def lookback(self) -> int:
        return WINDOW + 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        p = self.params
        score, trend = self.scores(candles)
        with np.errstate(invalid="ignore"):
            entering = (trend > 0) & (score >= p.entry_score)
            leaving = score < p.exit_score
        buy = entering & ~np.r_[False, entering[:-1]]
        sell = leaving & ~np.r_[False, leaving[:-1]]
        confidence = np.where(buy, np.nan_to_num(score) / 100.0, 1.0)
        buy_reason = np.array(
            [f"confluence {value:.0f} >= {p.entry_score:g}" for value in score], dtype=object
        )
        sell_reason = np.array(
            [f"confluence {value:.0f} < {p.exit_score:g}" for value in score], dtype=object
        )
        return SignalFrame.build(
            len(candles),
            buy=buy,
            sell=sell,
            confidence=np.clip(confidence, 0.0, 1.0),
            stop=self.atr_stop(candles),
            buy_reason=buy_reason,
            sell_reason=sell_reason,
        )

    def scores(self, candles: CandleFrame) -> tuple[np.ndarray, np.ndarray]:
        """(bullish score, weighted trend sum) per candle, NaN where undefined."""
        if candles.higher is None:  # called on bare candles, not by the engine
            candles = with_higher(candles, self.higher_timeframes)
        interval = candles.higher.interval_ms
        count = len(candles)
        score, trend = np.full(count, np.nan), np.full(count, np.nan)
        if interval is None or count < WINDOW:
            return score, trend
        own = interval_name(interval) or f"{interval // 60_000}m"
        higher = sorted(candles.higher.values(), key=lambda frame: timeframe_ms(frame.timeframe))
        ready = np.ones(count, dtype=bool)
        ready[: WINDOW - 1] = False
        for frame in higher:
            ready &= frame.visible >= WINDOW
        readings_of = [_Readings(frame) for frame in higher]
        with unshared():  # thousands of 50-candle windows, each read once
            for t in np.flatnonzero(ready).tolist():
                window = candles[t - WINDOW + 1 : t + 1]
                parts = [(frame, int(frame.visible[t])) for frame in readings_of]
                key = (own, _digest(window), *(frame.digest(k) for frame, k in parts))
                known = _MEMO.get(key)
                if known is None:
                    known = _score(own, window, interval, parts)
                    if len(_MEMO) >= MEMO_LIMIT:
                        _MEMO.clear()
                    _MEMO[key] = known
                score[t], trend[t] = known
        return score, trend


def _score(own: str, window: CandleFrame, interval: int, parts: list) -> tuple[float, float]:
    """(bullish score, weighted trend sum) of `window` (the bot's timeframe) with each
    higher timeframe's last closed candles (`parts`: its readings, how many had closed)."""
    readings = {own: smc_analysis(window, swing=SWING)}
    for frame, closed in parts:
        readings[frame.timeframe] = frame.reading(closed)
    result = score_readings(
        readings,
        as_of_ms=int(window.open_time_ms[-1]) + interval,
        direction=BULLISH,
        common=common_parts(readings, zones=False),
    )
    return result.score, result.trend_sum


# scores by the exact content of the candles they read (a digest of every column), so
# the optimiser's trials and the lookahead check's cuts do not compute one twice; a key
# holds only candles the score read, so no later candle can reach an earlier score
_MEMO: dict[tuple, tuple[float, float]] = {}


def _digest(frame: CandleFrame) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(frame.open_time_ms.tobytes())
    for name in (*PRICE_COLUMNS, *FLOW_COLUMNS):
        values = getattr(frame, name)
        digest.update(b"-" if values is None else values.tobytes())
    return digest.digest()


class _Readings:
    """One higher timeframe's readings and digests, each made once per closed candle."""

    def __init__(self, frame: HigherFrame):
        self.timeframe = frame.timeframe
        self._candles = frame.candles
        self.visible = frame.visible
        self._readings: dict[int, object] = {}
        self._digests: dict[int, bytes] = {}

    def _window(self, closed: int) -> CandleFrame:
        return self._candles[closed - WINDOW : closed]

    def digest(self, closed: int) -> bytes:
        if closed not in self._digests:
            self._digests[closed] = _digest(self._window(closed))
        return self._digests[closed]

    def reading(self, closed: int):
        if closed not in self._readings:
            self._readings[closed] = smc_analysis(self._window(closed), swing=SWING)
        return self._readings[closed]
