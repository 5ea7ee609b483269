"""Realized P&L from the fill table, by UTC day, week (Monday first) or month, per bot or
per symbol.

A fill's `realized_pnl` is already net of its own fee (an entry books minus its fee), so
the sum over a period's fills is the period's realized P&L net of fees, exactly: both
columns are integer units of 1e-8, summed by the database. SQL reduces the fills to one row
per (UTC day, bot or symbol); weeks and months are added up from those days here, so the
one database-specific piece is the expression for the UTC day.
"""

import bisect
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from time import monotonic

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
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


RECOUNT_SECONDS = 30.0  # how often the kept totals are checked against the table's count


class DailyTotals:
    """Fills summed per (UTC day, bot, symbol), kept in the desk process and brought up to
    date on each read by summing only the fills added since (ids above the last seen).

    Fills are only ever added, but a deleted bot takes its fills with it (seen at once: a
    bot of the totals is gone), and two transactions may commit their fills out of id
    order (seen within RECOUNT_SECONDS: the table's count differs from the totals'); then
    the totals are rebuilt from the table. Counting a million rows costs tens of
    milliseconds on PostgreSQL, hence not on every read.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self._reset()

    def refresh(self, session: Session, bot_ids: set[int]) -> None:
        newest = session.exec(select(func.max(Fill.id))).one() or 0
        with self.lock:
            if newest < self.high_id or self.bot_ids - bot_ids:
                self._reset()
            self._add(_sum_by_day(session, after_id=self.high_id, up_to_id=newest), newest)
            if monotonic() - self.counted_at < RECOUNT_SECONDS:
                return
            count = session.exec(select(func.count()).select_from(Fill)).one()
            self.counted_at = monotonic()
            if count != self.fills:  # a late commit or a deletion: start over from the table
                self._reset()
                self._add(_sum_by_day(session, after_id=0, up_to_id=newest), newest)
                self.counted_at = monotonic()

    def _add(self, added: list[tuple], newest: int) -> None:
        for day, bot_id, symbol, fills, realized, fees in added:
            cell = self.days.setdefault(day, {}).setdefault((bot_id, symbol), [0, ZERO, ZERO])
            cell[0] += fills
            cell[1] += realized
            cell[2] += fees
            self.fills += fills
            self.bot_ids.add(bot_id)
        self.high_id = newest
        if len(self.sorted_days) != len(self.days):
            self.sorted_days = sorted(self.days)

    def _reset(self) -> None:
        self.high_id, self.fills, self.counted_at = 0, 0, float("-inf")
        self.days: dict[date, dict[tuple[int, str], list]] = {}  # day -> (bot, symbol) -> sums
        self.sorted_days: list[date] = []
        self.bot_ids: set[int] = set()

    def between(self, since: date | None, until: date | None) -> list[tuple]:
        """(day, bot id, symbol, fills, realized, fees) of the days since..until."""
        with self.lock:
            days = self.sorted_days
            first = 0 if since is None else bisect.bisect_left(days, since)
            last = len(days) if until is None else bisect.bisect_right(days, until)
            return [
                (day, bot_id, symbol, *cell)
                for day in days[first:last]
                for (bot_id, symbol), cell in self.days[day].items()
            ]


_totals: dict[str, DailyTotals] = {}
_totals_lock = threading.Lock()


def _totals_of(session: Session) -> DailyTotals:
    key = session.get_bind().url.render_as_string(hide_password=True)
    with _totals_lock:
        return _totals.setdefault(key, DailyTotals())


def _sum_by_day(session: Session, *, after_id: int, up_to_id: int) -> list[tuple]:
    """(day, bot id, symbol, fills, realized, fees) of the fills after_id < id <= up_to_id."""
    day = utc_day(col(Fill.filled_at)).label("day")
    query = (
        select(
            day,
            col(Fill.bot_id),
            col(Fill.symbol),
            func.count(),
            func.sum(Fill.realized_pnl),
            func.sum(Fill.fee_quote),
        )
        .where(col(Fill.id) > after_id, col(Fill.id) <= up_to_id)
        .group_by(day, col(Fill.bot_id), col(Fill.symbol))
    )
    return [
        (date.fromisoformat(row[0]), row[1], row[2], int(row[3]), row[4] or ZERO, row[5] or ZERO)
        for row in session.exec(query)
    ]


def _summed(
    session: Session, *, period: Period, by: GroupBy, since: date | None, until: date | None
) -> list[PnlRow]:
    names = _bot_names(session)
    totals = _totals_of(session)
    totals.refresh(session, set(names))
    sums: dict[tuple[date, str], list] = defaultdict(lambda: [0, ZERO, ZERO])
    starts: dict[date, date] = {}
    for day, bot_id, symbol, fills, realized, fees in totals.between(since, until):
        start = starts.get(day) or starts.setdefault(day, period_start(day, period))
        group = names.get(bot_id, f"bot {bot_id}") if by == GroupBy.BOT else symbol
        total = sums[(start, group)]
        total[0] += fills
        total[1] += realized
        total[2] += fees
    return [
        PnlRow(period=start, group=group, fills=fills, realized_pnl=realized, fees=fees)
        for (start, group), (fills, realized, fees) in sorted(sums.items())
    ]


def warm(*, session: Session) -> None:
    """Sum the fill table into this process's kept totals now (a million fills take seconds),
    so the first P&L report the process serves only adds the fills written since."""
    _totals_of(session).refresh(session, set(_bot_names(session)))


def _bot_names(session: Session) -> dict[int, str]:
    return dict(session.exec(select(Bot.id, Bot.name)).all())


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
    return _summed(session, period=period, by=by, since=since, until=until)


def totals_by_period(rows: list[PnlRow]) -> dict[date, Decimal]:
    sums: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        sums[row.period] += row.realized_pnl
    return dict(sorted(sums.items()))
