"""botdesk.db.performance as it was before issue 20 item 4 (each bot's newest snapshot per
bucket by a row_number() window, each bot's opening row and each flow's first snapshot
one statement apiece): the reference its faster queries are compared with, for the same
figures, in tests/db/test_performance_fast.py and bench/overview_speed.py. Not used by
the desk."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db import capital_flows
from botdesk.db.models import CapitalFlow, DeletedBotEquity, EquitySnapshot, FlowKind
from botdesk.db.performance import FlowMark, Performance
from botdesk.db.twr import ZERO, BotSeries, combined, time_weighted

MIN_BUCKET_MS = 60_000
RATIO_UNIT = Decimal("1E-8")  # returns and drawdowns as shown: 8 decimals of a share


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


def _oldest(session, table, bot: int, start: datetime) -> tuple:
    """(bot id, time, candle ms, equity) of the bot's oldest row from `start` on."""
    row = session.exec(
        select(table.at, table.candle_open_ms, table.equity)
        .where(table.bot_id == bot, col(table.at) >= start)
        .order_by(col(table.at), col(table.id))
        .limit(1)
    ).one()
    return (bot, *row)


def _ranked(session, table, grid: _Grid, *, start, bot_id) -> list[tuple]:
    """(bot id, time, candle ms, equity) of each bot's newest row per bucket in start..end."""
    bucket = col(table.candle_open_ms) // grid.bucket_ms
    rank = func.row_number().over(
        partition_by=(col(table.bot_id), bucket), order_by=col(table.id).desc()
    )
    where = [
        col(table.at) >= start,
        col(table.at) <= grid.end,
        col(table.candle_open_ms).is_not(None),
    ]
    if bot_id is not None:
        where.append(col(table.bot_id) == bot_id)
    columns = (table.bot_id, table.at, table.candle_open_ms, table.equity)
    ranked = select(*columns, rank.label("n")).where(*where).subquery()
    rows = session.exec(
        select(ranked.c.bot_id, ranked.c.at, ranked.c.candle_open_ms, ranked.c.equity).where(
            ranked.c.n == 1
        )
    ).all()
    return [row for row in rows if row[0] is not None]  # (a NULL bot_id was never written)


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
            for row in _ranked(session, table, grid, start=start, bot_id=bot_id)
            if not kept or row[0] in deleted
        ]
        for table, kept in tables
    }
    rows = sorted([*newest[False], *newest[True]], key=lambda row: row[2])  # older first
    if not rows:
        return Performance([], bucket_ms=bucket_ms)
    first_bucket = min(candle_ms // bucket_ms for _, _, candle_ms, _ in rows)
    opening_rows = [
        _oldest(session, DeletedBotEquity if kept else EquitySnapshot, bot, start)
        for kept in (False, True)
        for bot, _, candle_ms, _ in newest[kept]
        if candle_ms // bucket_ms == first_bucket
    ]
    grid = _Grid(bucket_ms, end, min(at for _, at, _, _ in opening_rows))
    by_bot: dict[int, dict[datetime, Decimal]] = {}
    last_label: dict[int, datetime] = {}
    opened: dict[int, datetime] = {}
    for bot, _, candle_ms, equity in rows:
        label = grid.label(candle_ms)
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
