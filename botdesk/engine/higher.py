"""Higher timeframes as a strategy sees them: the closed candles of a longer timeframe
along the candles of its own, each visible from the candle whose close closes it.

A strategy on 5m candles that declares `higher_timeframes = ("1h",)` gets, with its
candles, the 1h candles built from them (`timeframes.aggregate`: open, high, low, close,
volume and the taker columns of the twelve 5m candles of each hour) and, per 5m candle,
how many of those 1h candles had closed by its close. The 1h candle 10:00-11:00 closes
with the 5m candle 10:55-11:00: it is visible from that candle on, and before it the
latest visible 1h candle is 09:00-10:00. A higher candle the strategy's candles start
inside of (their first one opens after the hour began) is left out: it would be built
from part of its candles only.

The candles are built from the strategy's own candles, live and in the backtest alike, so
a window of the live engine and the whole history of a backtest give the same higher
candles wherever both cover them, and the same signals.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.engine.timeframes import UnknownTimeframe, aggregate, interval_name, timeframe_ms


class HigherTimeframeError(ValueError):
    """A higher timeframe cannot be built from the candles given; the message says why."""


@dataclass(frozen=True, slots=True, eq=False)
class HigherFrame:
    """One higher timeframe along a frame of candles of a shorter one.

    `candles`: its closed candles, oldest first, built from the frame's; `visible`: int64,
    one per candle of the frame, how many of `candles` had closed by that candle's close
    (so `candles[visible[t] - 1]` is the latest one candle t may read; none when 0)."""

    timeframe: str
    candles: CandleFrame
    visible: np.ndarray

    def latest(self) -> np.ndarray:
        """Per candle of the frame, the index in `candles` of the latest closed higher
        candle, -1 where none has closed yet."""
        return self.visible - 1

    def align(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Per candle of the frame, `values` (one per higher candle, e.g. an indicator
        computed on `candles`) of its latest closed higher candle; `fill` where none."""
        values = np.asarray(values, dtype=np.float64)
        if len(values) != len(self.candles):
            raise ValueError(
                f"{len(values)} values for {len(self.candles)} {self.timeframe} candles"
            )
        out = np.full(len(self.visible), fill, dtype=np.float64)
        seen = self.visible > 0
        out[seen] = values[self.visible[seen] - 1]
        return out


class HigherTimeframes(Mapping):
    """The higher timeframes a frame carries, by name (`candles.higher["1h"]`)."""

    def __init__(self, frames: dict[str, HigherFrame], interval_ms: int | None):
        self._frames = frames
        self.interval_ms = interval_ms  # the length of the frame's own candles (None: unknown)

    def __getitem__(self, timeframe: str) -> HigherFrame:
        try:
            return self._frames[timeframe]
        except KeyError:
            declared = ", ".join(self._frames) or "none"
            raise KeyError(
                f"no {timeframe} candles: the strategy reads only the higher timeframes it "
                f"declares (higher_timeframes: {declared})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)


def candle_interval_ms(candles: CandleFrame) -> int | None:
    """The frame's candle length: the shortest step between two open times (None for
    fewer than two candles)."""
    if len(candles) < 2:
        return None
    return int(np.diff(candles.open_time_ms).min())


def check_timeframe(timeframe: str, interval_ms: int) -> int:
    """The length of `timeframe`, or HigherTimeframeError when candles of `interval_ms`
    cannot build it."""
    try:
        length = timeframe_ms(timeframe)
    except UnknownTimeframe as error:
        raise HigherTimeframeError(str(error)) from None
    if length <= interval_ms or length % interval_ms:
        own = interval_name(interval_ms) or f"{interval_ms} ms"
        raise HigherTimeframeError(
            f"{timeframe} candles cannot be built from {own} candles (a higher timeframe "
            f"must be longer than the bot's and a whole multiple of it)"
        )
    return length


def closed_candles(candles: CandleFrame, timeframe: str, interval_ms: int) -> CandleFrame:
    """The `timeframe` candles built from `candles` (of `interval_ms`) that have closed by
    the last one, without one the frame starts inside of."""
    length = check_timeframe(timeframe, interval_ms)
    if not len(candles):
        return candles
    first = int(candles.open_time_ms[0])
    whole = candles.after(-(-first // length) * length - 1)  # from the first bucket start
    return aggregate(whole, timeframe, source_interval_ms=interval_ms)


def higher_frame(
    candles: CandleFrame,
    timeframe: str,
    interval_ms: int,
    *,
    built: CandleFrame | None = None,
) -> HigherFrame:
    """`timeframe` along `candles`. `built`: `closed_candles` of a longer history that
    `candles` is a slice of (the engine builds them once for all the bots of a candle);
    the result is the same as without it."""
    length = check_timeframe(timeframe, interval_ms)
    if not len(candles):
        higher = CandleFrame.empty()
    elif built is None:
        higher = closed_candles(candles, timeframe, interval_ms)
    else:
        first, last = int(candles.open_time_ms[0]), int(candles.open_time_ms[-1])
        start = -(-first // length) * length
        higher = built.between(start, last + interval_ms - length)
    closes = candles.open_time_ms + interval_ms
    visible = np.searchsorted(higher.open_time_ms + length, closes, side="right")
    return HigherFrame(timeframe, higher, visible.astype(np.int64))


def with_higher(
    candles: CandleFrame,
    timeframes: tuple[str, ...],
    *,
    interval_ms: int | None = None,
    built: Mapping[str, CandleFrame] | None = None,
) -> CandleFrame:
    """`candles` carrying `timeframes` (`candles.higher`); the interval is read from the
    frame when not given. Raises HigherTimeframeError."""
    interval_ms = interval_ms or candle_interval_ms(candles)
    frames = {}
    for timeframe in timeframes:
        if interval_ms is None:  # one candle or none: no higher candle can have closed
            frames[timeframe] = HigherFrame(
                timeframe, CandleFrame.empty(), np.zeros(len(candles), dtype=np.int64)
            )
            continue
        source = None if built is None else built.get(timeframe)
        frames[timeframe] = higher_frame(candles, timeframe, interval_ms, built=source)
    return candles.carrying(HigherTimeframes(frames, interval_ms))
