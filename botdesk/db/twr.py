"""Time-weighted return: the P&L of an equity series with capital flows taken out, so
money put in or taken out is never counted as profit or loss. Pure and exact in Decimal.

A step's flow comes in just before its equity is read (a bot is created, then trades), so
the step's return is its P&L over the equity before it plus the flow:

    pnl_i    = equity_i - equity_(i-1) - flow_i
    return_i = pnl_i / (equity_(i-1) + flow_i)          (0 when nothing was at work)
    index_i  = index_(i-1) x (1 + return_i)             (index_(-1) = 1)
    drawdown_i = index_i / max(index_0 .. index_i) - 1  (<= 0)

The drawdown is taken on the index, not on the equity: capital added lifts the equity,
never the index. Ratios are carried with 40 significant digits; money stays as given.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
RATIOS = Context(prec=40)


@dataclass(frozen=True)
class Step:
    at: datetime
    equity: Decimal
    flow: Decimal = ZERO  # capital in (+) or out (-) just before this equity


@dataclass(frozen=True)
class Point:
    at: datetime
    equity: Decimal
    flow: Decimal
    pnl: Decimal  # this step's P&L
    index: Decimal  # growth of 1 since the first point
    drawdown: Decimal  # of the index from its peak so far, <= 0

    @property
    def cumulative_return(self) -> Decimal:
        return RATIOS.subtract(self.index, ONE)


def time_weighted(steps: Iterable[Step], *, opening: Decimal | None = None) -> list[Point]:
    """The series with its TWR index and drawdown. `opening` is the equity before the first
    step; by default the first step is the base (its equity less its flow), so the first
    point's return is 0."""
    points: list[Point] = []
    index = peak = ONE
    before = opening
    for step in steps:
        if before is None:
            before = step.equity - step.flow
        base = before + step.flow
        pnl = step.equity - base
        if base > 0:
            index = RATIOS.multiply(index, RATIOS.add(ONE, RATIOS.divide(pnl, base)))
        peak = max(peak, index)
        drawdown = RATIOS.subtract(RATIOS.divide(index, peak), ONE)
        points.append(Point(step.at, step.equity, step.flow, pnl, index, drawdown))
        before = step.equity
    return points


def max_drawdown(points: Sequence[Point]) -> Decimal:
    """The deepest drawdown of the index (<= 0), 0 for no points."""
    return min((point.drawdown for point in points), default=ZERO)


@dataclass(frozen=True)
class BotSeries:
    """One bot's equity at the times of the combined series (its newest value at or before
    each), with the capital flows that reached its equity at those times."""

    points: Sequence[tuple[datetime, Decimal]]  # (time, equity), in time order
    flows: Mapping[datetime, Decimal]  # time of the snapshot that first holds the flow
    created_at: datetime | None = None  # time its creation flow reached the equity
    gone_at: datetime | None = None  # first time it no longer counts (deleted)


def combined(bots: Iterable[BotSeries]) -> list[Step]:
    """Steps of the bots together: at each time, the sum of every counted bot's newest
    equity, and the flows that reached the total then.

    A bot first counted without its creation flow (one older than the series, or made
    before flows were recorded) comes in as capital: its equity then is a flow, not a
    gain. A deleted bot leaves as capital: its last equity goes out as a flow.
    """
    equity_at: dict[datetime, Decimal] = defaultdict(lambda: ZERO)
    flow_at: dict[datetime, Decimal] = defaultdict(lambda: ZERO)
    series = list(bots)
    times = sorted(
        {at for bot in series for at, _ in bot.points}
        | {bot.gone_at for bot in series if bot.gone_at is not None}
    )
    for bot in series:
        if not bot.points:
            continue
        values = iter(bot.points)
        current = next(values)
        upcoming = next(values, None)
        first = current[0]
        if bot.created_at is None or bot.created_at != first:
            flow_at[first] += current[1]
        else:
            flow_at[first] += bot.flows.get(first, ZERO)
        for at in times:
            if at < first:
                continue
            if bot.gone_at is not None and at >= bot.gone_at:
                flow_at[at] -= current[1]
                break
            while upcoming is not None and upcoming[0] <= at:
                current = upcoming
                upcoming = next(values, None)
                flow_at[current[0]] += bot.flows.get(current[0], ZERO)
            equity_at[at] += current[1]
    return [Step(at, equity_at[at], flow_at[at]) for at in times]
