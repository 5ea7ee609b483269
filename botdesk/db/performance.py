"""Equity, return and drawdown of one bot or the whole desk, with capital flows kept apart
from P&L: read from the equity snapshots (and a deleted bot's kept history) and the
capital flows, combined by the pure functions of botdesk.db.twr.

Times are the market's clock. The series is bucketed (each bot's newest snapshot per
bucket, carried forward until its next), at most about `points` buckets and an opening
point, so a page stays fast on a long history; the return and drawdown are those of the
bucketed series. A capital flow shows where its bot's equity first holds it (its first
snapshot after the flow); a deleted bot counts until it was deleted, from its kept
history.
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


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class _Grid:
    """Buckets of `bucket_ms` by candle time. A bucket's value is each bot's newest
    snapshot in it, shown at the bucket's end (never past `end`); the series opens with
    each bot's oldest snapshot of the first bucket, shown at the first snapshot's time, so
    what happened within the first bucket is not lost."""

    bucket_ms: int
    end: datetime
    opening_at: datetime | None = None

    def label(self, candle_ms: int) -> datetime:
        return min(_from_ms((candle_ms // self.bucket_ms + 1) * self.bucket_ms), self.end)


def _oldest(session, table, rows: list[tuple], start: datetime) -> list[tuple]:
    """(bot id, time, candle ms, equity) of the oldest row from `start` on of each bot of
    `rows` (their rows in the first bucket), in one statement: each of these bots has a row
    at or before the newest time of `rows`, so only the rows from `start` to it are ranked."""
    bots = [bot for bot, _, _, _ in rows]
    bound = select(func.max(table.at)).where(col(table.id).in_([row[3] for row in rows]))
    first = func.row_number().over(
        partition_by=col(table.bot_id), order_by=(col(table.at), col(table.id))
    )
    ranked = (
        select(table.bot_id, table.at, table.candle_open_ms, table.equity, first.label("n"))
        .where(
            col(table.bot_id).in_(bots),
            col(table.at) >= start,
            col(table.at) <= bound.scalar_subquery(),
        )
        .subquery()
    )
    columns = (ranked.c.bot_id, ranked.c.at, ranked.c.candle_open_ms, ranked.c.equity)
    return session.exec(select(*columns).where(ranked.c.n == 1)).all()


def _newest(session, table, grid: _Grid, *, start, bot_id) -> list[tuple]:
    """(bot id, candle ms, equity, row id) of each bot's newest row (highest id) per bucket in
    start..end: the highest id per (bot, bucket) found by a grouped scan (a hash
    aggregate, no sort of the window's rows), then those rows joined back by id within the
    same window (so PostgreSQL, which cannot tell how few groups there are, reads the
    window's rows again rather than the whole table)."""
    bucket = (col(table.candle_open_ms) // grid.bucket_ms).label("bucket")
    where = [
        col(table.at) >= start,
        col(table.at) <= grid.end,
        col(table.candle_open_ms).is_not(None),
        col(table.bot_id).is_not(None),  # (a NULL bot_id was never written)
    ]
    if bot_id is not None:
        where.append(col(table.bot_id) == bot_id)
    newest = (
        select(func.max(table.id).label("id"))
        .where(*where)
        .group_by(col(table.bot_id), bucket)
        .subquery()
    )
    return session.exec(
        select(table.bot_id, table.candle_open_ms, table.equity, table.id)
        .join(newest, col(table.id) == newest.c.id)
        .where(*where)
    ).all()


def _reached(session: Session, flow: CapitalFlow, table) -> tuple | None:
    """(time, candle ms) of the bot's first snapshot after `flow`: the first that holds it."""
    return session.exec(
        select(table.at, table.candle_open_ms)
        .where(table.bot_id == flow.bot_id, col(table.at) > flow.at)
        .order_by(col(table.at), col(table.id))
        .limit(1)
    ).first()


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
    bucket_ms = max(MIN_BUCKET_MS, (_to_ms(end) - _to_ms(start)) // max(points, 1))
    flows = capital_flows.flows(session=session, bot_id=bot_id, since=start, until=end)
    deleted = {flow.bot_id for flow in flows if flow.kind == FlowKind.DELETED}
    tables = [(EquitySnapshot, False), (DeletedBotEquity, True)]
    grid = _Grid(bucket_ms, end)
    newest = {
        kept: [
            row
            for row in _newest(session, table, grid, start=start, bot_id=bot_id)
            if not kept or row[0] in deleted
        ]
        for table, kept in tables
    }
    rows = sorted([*newest[False], *newest[True]], key=lambda row: row[1])  # older first
    if not rows:
        return Performance([], bucket_ms=bucket_ms)
    first_bucket = min(candle_ms // bucket_ms for _, candle_ms, _, _ in rows)
    opening_rows = []
    for kept in (False, True):
        opening = [row for row in newest[kept] if row[1] // bucket_ms == first_bucket]
        if opening:
            table = DeletedBotEquity if kept else EquitySnapshot
            opening_rows += _oldest(session, table, opening, start)
    grid = _Grid(bucket_ms, end, min(at for _, at, _, _ in opening_rows))
    by_bot: dict[int, dict[datetime, Decimal]] = {}
    last_label: dict[int, datetime] = {}
    opened: dict[int, datetime] = {}
    labels: dict[int, datetime] = {}  # bucket -> its label, one datetime per bucket
    for bot, candle_ms, equity, _ in rows:
        bucket = candle_ms // bucket_ms
        label = labels.get(bucket)
        if label is None:
            label = labels[bucket] = grid.label(candle_ms)
        by_bot.setdefault(bot, {})[label] = equity
        last_label[bot] = max(label, last_label.get(bot, label))
    for bot, at, _, equity in opening_rows:
        by_bot[bot][grid.opening_at] = equity
        opened[bot] = at
    reached: dict[int, dict[datetime, Decimal]] = {}
    created: dict[int, datetime] = {}
    gone: dict[int, datetime] = {}
    marks: list[FlowMark] = []
    for flow in flows:
        if flow.bot_id not in by_bot:
            continue
        if flow.kind == FlowKind.DELETED:
            # it counts until it was deleted, and leaves as capital going out
            leaves = grid.label(_to_ms(flow.at))
            if leaves <= last_label[flow.bot_id]:
                leaves = last_label[flow.bot_id] + timedelta(microseconds=1)
            gone[flow.bot_id] = leaves
            marks.append(_mark(flow, leaves))
            continue
        table = DeletedBotEquity if flow.bot_id in deleted else EquitySnapshot
        found = _reached(session, flow, table)
        if found is None or found[0] > end or found[1] is None:
            continue  # not in the equity yet
        at = grid.opening_at if opened.get(flow.bot_id) == found[0] else grid.label(found[1])
        reached.setdefault(flow.bot_id, {})
        reached[flow.bot_id][at] = reached[flow.bot_id].get(at, ZERO) + flow.amount
        if flow.kind == FlowKind.CREATED:
            created[flow.bot_id] = at
        marks.append(_mark(flow, at))
    series = [
        BotSeries(
            points=sorted(values.items()),
            flows=reached.get(bot, {}),
            created_at=created.get(bot),
            gone_at=gone.get(bot),
        )
        for bot, values in by_bot.items()
    ]
    marks.sort(key=lambda mark: mark.at)
    return Performance(time_weighted(combined(series), opening=ZERO), marks, bucket_ms)


def _mark(flow: CapitalFlow, at: datetime) -> FlowMark:
    return FlowMark(at, flow.amount, flow.kind, flow.bot_id, flow.bot_name, flow.actor)
