"""Equity, return and drawdown of one bot or the whole desk, with capital flows kept apart
from P&L: read from the equity snapshots (and a deleted bot's kept history) and the
capital flows, combined by the pure functions of botdesk.db.twr.

Times are the market's clock. The series is bucketed (each bot's newest snapshot per
bucket, carried forward until its next), at most about `points` buckets, so a page stays
fast on a long history; the return and drawdown are those of the bucketed series.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db import capital_flows
from botdesk.db.models import CapitalFlow, DeletedBotEquity, EquitySnapshot, FlowKind
from botdesk.db.twr import ZERO, BotSeries, Point, combined, max_drawdown, time_weighted

MIN_BUCKET_MS = 60_000
RATIO_UNIT = Decimal("1E-8")  # returns and drawdowns as shown: 8 decimals of a share


@dataclass(frozen=True)
class FlowMark:
    """A recorded capital flow where it shows in the series."""

    at: datetime  # the point of the series whose equity first holds it
    amount: Decimal
    kind: str
    bot_id: int
    bot_name: str
    actor: str


@dataclass(frozen=True)
class Performance:
    points: list[Point]  # the bucketed series: equity, flow, P&L, TWR index, drawdown
    marks: list[FlowMark] = field(default_factory=list)  # recorded flows shown in the series
    bucket_ms: int = MIN_BUCKET_MS

    @property
    def equity(self) -> Decimal | None:
        return self.points[-1].equity if self.points else None

    @property
    def time_weighted_return(self) -> Decimal:
        return self.points[-1].cumulative_return if self.points else ZERO

    @property
    def drawdown(self) -> Decimal:
        return self.points[-1].drawdown if self.points else ZERO

    @property
    def max_drawdown(self) -> Decimal:
        return max_drawdown(self.points)

    @property
    def pnl(self) -> Decimal:
        return sum((point.pnl for point in self.points[1:]), ZERO)

    @property
    def net_flows(self) -> Decimal:
        return sum((point.flow for point in self.points[1:]), ZERO)


def _to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _floor(at: datetime, bucket_ms: int) -> datetime:
    return datetime.fromtimestamp(_to_ms(at) // bucket_ms * bucket_ms / 1000, UTC)


def _newest_per_bucket(session, table, *, start, end, bucket_ms, bot_id) -> list[tuple]:
    """(bot id, bucket start, equity) of each bot's newest row per bucket in start..end."""
    bucket = col(table.candle_open_ms) // bucket_ms
    newest = func.row_number().over(
        partition_by=(col(table.bot_id), bucket), order_by=col(table.id).desc()
    )
    where = [col(table.at) >= start, col(table.at) <= end, col(table.candle_open_ms).is_not(None)]
    if bot_id is not None:
        where.append(table.bot_id == bot_id)
    else:
        where.append(col(table.bot_id).is_not(None))
    ranked = select(table.bot_id, table.at, table.equity, newest.label("n")).where(*where)
    ranked = ranked.subquery()
    rows = session.exec(
        select(ranked.c.bot_id, ranked.c.at, ranked.c.equity).where(ranked.c.n == 1)
    ).all()
    return [(bot, _floor(at, bucket_ms), equity) for bot, at, equity in rows]


def _reached_at(session: Session, flow: CapitalFlow, deleted: set[int]) -> datetime | None:
    """When `flow` reached its bot's equity: its first snapshot after the flow."""
    table = DeletedBotEquity if flow.bot_id in deleted else EquitySnapshot
    return session.exec(
        select(func.min(table.at)).where(table.bot_id == flow.bot_id, col(table.at) > flow.at)
    ).one()


def performance(
    *,
    session: Session,
    bot_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    days: int = 7,
    points: int = 600,
) -> Performance:
    """One bot's (`bot_id`) or the whole desk's equity, flows, return and drawdown between
    `since` (default: `days` before `until`) and `until` (default: the market's now)."""
    end = until or session.exec(select(func.max(EquitySnapshot.at))).one()
    if end is None:
        return Performance([])
    start = since or end - timedelta(days=days)
    span_ms = max(_to_ms(end) - _to_ms(start), 0)
    bucket_ms = max(MIN_BUCKET_MS, span_ms // max(points, 1))
    window = {"start": start, "end": end, "bucket_ms": bucket_ms, "bot_id": bot_id}
    live = _newest_per_bucket(session, EquitySnapshot, **window)
    kept = _newest_per_bucket(session, DeletedBotEquity, **window)
    flows = capital_flows.flows(session=session, bot_id=bot_id, since=start, until=end)
    deleted = {flow.bot_id for flow in flows if flow.kind == FlowKind.DELETED}
    by_bot: dict[int, dict[datetime, Decimal]] = {}
    for bot, at, equity in [*live, *[row for row in kept if row[0] in deleted]]:
        by_bot.setdefault(bot, {})[at] = equity
    reached: dict[int, dict[datetime, Decimal]] = {}
    created: dict[int, datetime] = {}
    gone: dict[int, datetime] = {}
    marks: list[FlowMark] = []
    for flow in flows:
        if flow.kind == FlowKind.DELETED:
            # it counts until the bucket it was deleted in, and leaves at the next
            at = gone[flow.bot_id] = datetime.fromtimestamp(
                (_to_ms(flow.at) // bucket_ms + 1) * bucket_ms / 1000, UTC
            )
            marks.append(_mark(flow, at))
            continue
        at = _reached_at(session, flow, deleted)
        if at is None or at > end:
            continue  # not in the equity yet
        at = _floor(at, bucket_ms)
        marks.append(_mark(flow, at))
        reached.setdefault(flow.bot_id, {})
        reached[flow.bot_id][at] = reached[flow.bot_id].get(at, ZERO) + flow.amount
        if flow.kind == FlowKind.CREATED:
            created[flow.bot_id] = at
    series = [
        BotSeries(
            points=sorted(values.items()),
            flows=reached.get(bot, {}),
            created_at=created.get(bot),
            gone_at=gone.get(bot),
        )
        for bot, values in by_bot.items()
    ]
    steps = combined(series)
    marks.sort(key=lambda mark: mark.at)
    return Performance(time_weighted(steps, opening=ZERO), marks, bucket_ms)


def _mark(flow: CapitalFlow, at: datetime) -> FlowMark:
    return FlowMark(at, flow.amount, flow.kind, flow.bot_id, flow.bot_name, flow.actor)
