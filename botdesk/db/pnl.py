"""Realized P&L from the fill table, by UTC day, week (Monday first) or month, per bot or
per symbol.

A fill's `realized_pnl` is already net of its own fee (an entry books minus its fee), so
the sum over a period's fills is the period's realized P&L net of fees, exactly: both
columns are integer units of 1e-8, summed by the database. SQL reduces the fills to one row
per (UTC day, bot or symbol); weeks and months are added up from those days here, so the
one database-specific piece is the expression for the UTC day.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, func, select

from botdesk.db.models import Bot, Fill

ZERO = Decimal(0)


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class GroupBy(StrEnum):
    BOT = "bot"
    SYMBOL = "symbol"


class utc_day(FunctionElement):
    """The UTC calendar day of a timestamp column, as text YYYY-MM-DD."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element, compiler, **kw):
    # SQLite keeps UTCDateTime as naive UTC text, "YYYY-MM-DD HH:MM:SS.ffffff".
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class PnlRow:
    period: date  # first day of the period (a Monday for weeks, the 1st for months)
    group: str  # the bot's name or the symbol
    fills: int
    realized_pnl: Decimal  # net of fees
    fees: Decimal  # in quote


def period_start(day: date, period: Period) -> date:
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == Period.MONTH:
        return day.replace(day=1)
    return day


def period_label(start: date, period: Period) -> str:
    if period == Period.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d} (from {start:%b} {start.day})"
    if period == Period.MONTH:
        return start.strftime("%Y-%m")
    return start.isoformat()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def latest_fill_day(*, session: Session) -> date | None:
    """The UTC day of the newest fill (an index lookup), None when there is no fill."""
    newest = session.exec(select(func.max(Fill.filled_at))).one()
    if newest is None:
        return None
    if isinstance(newest, str):  # SQLite returns the raw text through max()
        newest = datetime.fromisoformat(newest)
    return newest.date()


def daily(
    *,
    session: Session,
    since: date | None = None,
    until: date | None = None,
    by: GroupBy = GroupBy.BOT,
    bot_ids: list[int] | None = None,
) -> list[PnlRow]:
    """One row per UTC day and bot (or symbol) with fills, days since..until included."""
    day = utc_day(col(Fill.filled_at)).label("day")
    key: ColumnElement = col(Fill.bot_id) if by == GroupBy.BOT else col(Fill.symbol)
    query = select(
        day,
        key.label("grp"),
        func.count().label("fills"),
        func.sum(Fill.realized_pnl).label("pnl"),
        func.sum(Fill.fee_quote).label("fees"),
    )
    if since is not None:
        query = query.where(col(Fill.filled_at) >= _start_of(since))
    if until is not None:
        query = query.where(col(Fill.filled_at) < _start_of(until + timedelta(days=1)))
    if bot_ids:
        query = query.where(col(Fill.bot_id).in_(bot_ids))
    rows = session.exec(query.group_by(day, key)).all()
    names = _bot_names(session) if by == GroupBy.BOT else {}
    return [
        PnlRow(
            period=date.fromisoformat(row.day),
            group=names.get(row.grp, f"bot {row.grp}") if by == GroupBy.BOT else row.grp,
            fills=int(row.fills),
            realized_pnl=row.pnl if row.pnl is not None else ZERO,
            fees=row.fees if row.fees is not None else ZERO,
        )
        for row in rows
    ]


def _bot_names(session: Session) -> dict[int, str]:
    return dict(session.exec(select(Bot.id, Bot.name)).all())


def roll_up(days: list[PnlRow], period: Period) -> list[PnlRow]:
    """Daily rows added up into weeks or months; sorted by period, then group."""
    totals: dict[tuple[date, str], list] = defaultdict(lambda: [0, ZERO, ZERO])
    for row in days:
        total = totals[(period_start(row.period, period), row.group)]
        total[0] += row.fills
        total[1] += row.realized_pnl
        total[2] += row.fees
    return [
        PnlRow(period=start, group=group, fills=fills, realized_pnl=pnl, fees=fees)
        for (start, group), (fills, pnl, fees) in sorted(totals.items())
    ]


def report(
    *,
    session: Session,
    period: Period,
    by: GroupBy,
    since: date | None = None,
    until: date | None = None,
) -> list[PnlRow]:
    """P&L per `period` and bot or symbol between the days since and until (both included).

    Weeks and months are whole: `since` moves back to the start of its period, so the first
    bar is never a partial week or month.
    """
    if since is not None:
        since = period_start(since, period)
    return roll_up(daily(session=session, since=since, until=until, by=by), period)


def totals_by_period(rows: list[PnlRow]) -> dict[date, Decimal]:
    sums: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        sums[row.period] += row.realized_pnl
    return dict(sorted(sums.items()))
