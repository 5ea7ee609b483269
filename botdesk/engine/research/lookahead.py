"""The lookahead and warm-up check: does a strategy's signal at candle t depend on candles
after t, and how much history before t does it need to give the signal it gives on the
whole history?

- Lookahead: the strategy runs on the whole history, then on the history cut after candle
  c for many c (every candle where it signals is a likely place, plus evenly spaced ones).
  A causal strategy gives, on candles 0..c, exactly what it gave there on the whole
  history; any row that differs (side, confidence, stop or take-profit) is reported: the
  whole-history answer used candles the cut did not have.
- Warm-up: the strategy runs on the history started later (at s, for several s); the
  number of candles after s before its sides agree with the whole history's for good is
  what it needs before it signals as the backtest does. A live bot evaluates the last
  `LIVE_WINDOW` candles: a strategy that needs more signals differently live.
"""

from dataclasses import dataclass, field

import numpy as np

from botdesk.engine.frames import NO_SIGNAL, CandleFrame, SignalFrame
from botdesk.engine.market import WINDOW_CANDLES as LIVE_WINDOW
from botdesk.engine.strategies.base import Strategy
from botdesk.engine.strategies.safe import StrategyError, evaluate

COLUMNS = ("side", "confidence", "stop", "take_profit", "limit", "limit_candles")
MIN_CANDLES = 50


class CheckError(ValueError):
    """The check cannot run (too few candles, the strategy fails on the whole history)."""


@dataclass(frozen=True)
class Change:
    """A row whose signal on the cut history differs from the whole history's."""

    row: int
    time_ms: int
    cut_after: int  # the cut history ended with this candle
    column: str
    whole: float
    cut: float


@dataclass
class CheckReport:
    strategy: str
    params: dict
    candles: int
    cuts: int
    declared_lookback: int
    changes: list[Change] = field(default_factory=list)  # one per row, first cut seen
    cut_errors: list[str] = field(default_factory=list)
    warmup_needed: int | None = None  # None: never settled within the history
    warmup_starts: int = 0
    signals: int = 0  # rows of the whole history with a signal

    @property
    def lookahead(self) -> bool:
        return bool(self.changes)

    def warnings(self) -> list[str]:
        found = []
        if not self.signals:
            found.append(
                "it gave no signal on these candles (too few for the history it needs?): the "
                "check cannot show what it does"
            )
        needed = self.warmup_needed
        if needed is None:
            found.append("its signals never settled to the whole history's after a later start")
        elif needed > LIVE_WINDOW:
            found.append(
                f"it needs {needed} candles of history, more than the {LIVE_WINDOW} a live bot "
                "evaluates: live signals would differ from the backtest's"
            )
        elif needed > self.declared_lookback:
            found.append(
                f"it needs {needed} candles of history, more than its lookback "
                f"({self.declared_lookback}) says"
            )
        return found

    def summary(self) -> str:
        if self.lookahead:
            rows = len({change.row for change in self.changes})
            return f"LOOKAHEAD: {rows} signal row(s) change when later candles are removed"
        needed = "never settled" if self.warmup_needed is None else f"{self.warmup_needed}"
        return f"no lookahead in {self.cuts} cuts; warm-up needed: {needed} candles"


def check(
    strategy: Strategy, candles: CandleFrame, *, cuts: int = 40, starts: int = 8
) -> CheckReport:
    """The check over `candles` (see the module docstring); raises CheckError."""
    count = len(candles)
    if count < MIN_CANDLES:
        raise CheckError(f"the check needs at least {MIN_CANDLES} candles, not {count}")
    try:
        whole = evaluate(strategy, candles)
    except StrategyError as error:
        raise CheckError(f"on the whole history: {error}") from None
    report = CheckReport(
        strategy=strategy.name,
        params=strategy.params.model_dump(),
        candles=count,
        cuts=0,
        declared_lookback=int(strategy.lookback),
        signals=int((whole.side != NO_SIGNAL).sum()),
    )
    seen: set[int] = set()
    for end in cut_points(whole, count, cuts, strategy.lookback):
        report.cuts += 1
        try:
            part = evaluate(strategy, candles[: end + 1])
        except StrategyError as error:
            report.cut_errors.append(f"on candles 0..{end}: {error}")
            continue
        for change in _changes(whole, part, 0, candles.open_time_ms, cut_after=end):
            if change.row not in seen:
                seen.add(change.row)
                report.changes.append(change)
    report.changes.sort(key=lambda change: change.row)
    report.warmup_needed, report.warmup_starts = _warmup(strategy, candles, whole, starts)
    return report


def cut_points(whole: SignalFrame, count: int, cuts: int, lookback: int) -> list[int]:
    """Where to cut: half at candles where the whole history signals, half evenly spaced,
    from after the look-back to the last but one candle."""
    first = min(count - 2, max(2 * int(lookback), 10))
    signalled = np.flatnonzero(whole.side[first : count - 1] != NO_SIGNAL) + first
    picks = set(np.linspace(first, count - 2, cuts - cuts // 2).astype(int).tolist())
    if len(signalled):
        chosen = np.linspace(0, len(signalled) - 1, min(cuts // 2, len(signalled)))
        picks.update(signalled[chosen.astype(int)].tolist())
    return sorted(picks)


def _changes(whole: SignalFrame, part: SignalFrame, offset: int, times, cut_after: int):
    """Rows of `part` that differ from `whole` rows offset.. (exact sides, levels and
    confidence to 1e-9 relative)."""
    rows = len(part)
    for column in COLUMNS:
        expected = _values(whole, column)[offset : offset + rows]
        got = _values(part, column)
        if column == "side":
            differs = expected != got
        else:
            active = (whole.side[offset : offset + rows] != NO_SIGNAL) | (part.side != NO_SIGNAL)
            same = np.isclose(expected, got, rtol=1e-9, atol=0.0, equal_nan=True)
            differs = active & ~same
        for row in np.flatnonzero(differs).tolist():
            yield Change(
                row=row + offset,
                time_ms=int(times[row + offset]),
                cut_after=cut_after,
                column=column,
                whole=float(expected[row]),
                cut=float(got[row]),
            )


def _values(frame: SignalFrame, column: str) -> np.ndarray:
    """A column of the frame; the optional limit columns as NaN (market) when absent."""
    values = getattr(frame, column)
    if values is None:
        return np.full(len(frame), np.nan if column == "limit" else 0.0)
    return values if column != "limit_candles" else values.astype(np.float64)


def _warmup(strategy, candles: CandleFrame, whole: SignalFrame, starts: int):
    """(candles needed after a later start until the sides agree for good, starts tried)."""
    count = len(candles)
    points = np.linspace(count // 10, count // 2, starts).astype(int)
    needed, tried = 0, 0
    for start in sorted(set(points.tolist()) - {0}):
        try:
            part = evaluate(strategy, candles[start:])
        except StrategyError:
            continue
        tried += 1
        differs = np.flatnonzero(part.side != whole.side[start:])
        if len(differs) and differs[-1] >= (count - start) - 1 - count // 10:
            return None, tried  # still differs near the end: never settled
        settled = int(differs[-1]) + 1 if len(differs) else 0
        needed = max(needed, settled)
    return needed, tried
