"""The desk's tables as queries: an ag-grid filter model and sort model turned into SQL.

One definition serves the grids (a page of rows) and the CSV exports (every row), so an
export holds exactly the rows its grid shows. A filter model is what ag-grid sends:
`{"symbol": {"filterType": "text", "type": "equals", "filter": "BTCUSDT"}, ...}`, one entry
per column, each a single condition or `{"operator": "AND"|"OR", "conditions": [...]}`.
Sorting is allowed only on indexed columns, so a page over a million rows stays an index
walk; the id breaks ties, so pages never overlap.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    not_,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql import Select
from sqlmodel import SQLModel, col, func

from botdesk.db.models import (
    AuditLog,
    BacktestRun,
    Bot,
    Command,
    EquitySnapshot,
    Fill,
    LogEntry,
    Order,
    Position,
    RiskEvent,
    Role,
    Signal,
)
from botdesk.db.types import MONEY_MAX, Money, UTCDateTime

MAX_CONDITIONS = 4
INT32 = 2**31 - 1  # an Integer column (ids) on PostgreSQL
INT64 = 2**63 - 1  # a BigInteger column (a candle's time in ms)
LAST_DAY = datetime(9999, 12, 30, tzinfo=UTC)  # a day filter also needs the day after


class BadFilter(ValueError):
    """A filter or sort the table cannot apply; the message says which and why."""


@dataclass(frozen=True)
class TableSpec:
    """One table as the desk lists and exports it."""

    table: type[SQLModel]
    role: Role = Role.VIEWER  # least role allowed to read it
    hidden: frozenset[str] = frozenset()  # never shown, filtered or exported
    sortable: frozenset[str] = frozenset()  # indexed columns besides the id
    # aggregates that change whenever rows are added or changed: the grids' refresh marker
    markers: tuple[str, ...] = ("max:id",)
    # the same over open rows only (status 'open', an indexed range): values that move
    # while a row stays open, such as a position's unrealized P&L
    open_markers: tuple[str, ...] = ()
    json_columns: frozenset[str] = field(default_factory=frozenset)

    @property
    def name(self) -> str:
        return self.table.__tablename__

    def columns(self) -> dict[str, Any]:
        return {
            name: column
            for name, column in self.table.__table__.columns.items()
            if name not in self.hidden
        }


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(Signal, sortable=frozenset({"created_at", "bot_id"})),
        TableSpec(
            Order,
            sortable=frozenset({"created_at", "bot_id", "status"}),
            markers=("max:id", "max:updated_at"),
        ),
        TableSpec(Fill, sortable=frozenset({"filled_at", "bot_id"})),
        TableSpec(
            Position,
            sortable=frozenset({"status", "bot_id"}),
            markers=("max:id", "max:closed_at"),
            open_markers=("sum:unrealized_pnl", "sum:quantity", "count:id"),
        ),
        TableSpec(EquitySnapshot, sortable=frozenset({"at"})),
        TableSpec(RiskEvent, sortable=frozenset({"at", "bot_id"})),
        TableSpec(Command, markers=("max:id", "max:finished_at", "max:acked_at")),
        TableSpec(
            Bot,
            hidden=frozenset({"webhook_token_hash"}),
            sortable=frozenset({"name", "symbol", "status"}),
            markers=("max:updated_at", "max:status_changed_at", "max:last_candle_ms", "count:id"),
            json_columns=frozenset({"params"}),
        ),
        TableSpec(BacktestRun, markers=("max:id", "max:finished_at", "sum:progress")),
        TableSpec(AuditLog, role=Role.ADMIN, sortable=frozenset({"at", "action"})),
        TableSpec(LogEntry, role=Role.ADMIN, sortable=frozenset({"at", "bot_id"})),
    )
}


def spec_of(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(sorted(TABLES))
        raise LookupError(f"there is no table {name!r}; the tables are {known}") from None


# --- values a filter compares with ----------------------------------------------------


def _moment(text: Any, column: str) -> datetime:
    """ag-grid's date filters send 'YYYY-MM-DD HH:MM:SS' (read as UTC) or ISO 8601."""
    try:
        moment = datetime.fromisoformat(str(text).strip().replace(" ", "T", 1))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadFilter(f"{column}: {text!r} is not a date like 2026-11-21") from None
    if moment.date() > LAST_DAY.date():
        raise BadFilter(f"{column}: {text!r} is past the last day a filter takes (9999-12-30)")
    return moment


class _Refused(Exception):
    """A value refused with its own message (not merely 'not a number')."""


def _value(column, text: Any, name: str):
    if text is None or isinstance(text, (dict, list)):
        raise BadFilter(f"{name}: a filter value is missing")
    kind = column.type
    try:
        if isinstance(kind, Money):
            if isinstance(text, bool):
                raise ValueError
            amount = Decimal(str(text))
            if not amount.is_finite():
                raise ValueError
            if abs(amount) > MONEY_MAX:
                limit = f"{MONEY_MAX:,}"
                raise _Refused(f"{name}: {text!r} is beyond what an amount can be ({limit})")
            return amount.quantize(Decimal("1E-8"))
        if isinstance(kind, UTCDateTime):
            return _moment(text, name)
        if isinstance(kind, Boolean):
            return str(text).strip().lower() in ("1", "true", "yes")
        if isinstance(kind, Integer):
            if isinstance(text, float) and not text.is_integer():
                raise ValueError
            whole = int(str(text).strip().removesuffix(".0"))
            largest = INT64 if isinstance(kind, BigInteger) else INT32
            if abs(whole) > largest:
                raise _Refused(f"{name}: {text!r} is beyond what the column holds ({largest:,})")
            return whole
        if isinstance(kind, Float):
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
        if "\x00" in str(text):  # PostgreSQL refuses NUL in text
            raise _Refused(f"{name}: the filter holds a NUL character")
    except _Refused as error:
        raise BadFilter(str(error)) from None
    except (ValueError, InvalidOperation, ArithmeticError):
        raise BadFilter(f"{name}: {text!r} is not a number") from None
    return str(text)


# --- one condition --------------------------------------------------------------------

_COMPARE = {
    "equals": lambda c, v: c == v,
    "notEqual": lambda c, v: c != v,
    "lessThan": lambda c, v: c < v,
    "lessThanOrEqual": lambda c, v: c <= v,
    "greaterThan": lambda c, v: c > v,
    "greaterThanOrEqual": lambda c, v: c >= v,
}
# Text matches a part, whatever its case (LIKE is case-sensitive on PostgreSQL: ILIKE there).
_TEXT = {
    "contains": lambda c, v: c.icontains(v, autoescape=True),
    "notContains": lambda c, v: not_(c.icontains(v, autoescape=True)),
    "startsWith": lambda c, v: c.istartswith(v, autoescape=True),
    "endsWith": lambda c, v: c.iendswith(v, autoescape=True),
}


def is_epoch_ms(column) -> bool:
    """A candle's open time, stored as milliseconds since the epoch (e.g. candle_open_ms)."""
    return column.name.endswith("_ms") and isinstance(column.type, Integer)


def _date_condition(column, model: Mapping, name: str) -> ColumnElement[bool]:
    """Dates compare by UTC day: 'equals' is the whole day, 'inRange' includes both days."""
    kind = model.get("type")
    start = _moment(model.get("dateFrom"), name)
    in_ms = is_epoch_ms(column)

    def day(moment: datetime, days: int = 0):
        midnight = datetime.combine(moment.date(), time(), UTC) + timedelta(days=days)
        return int(midnight.timestamp()) * 1000 if in_ms else midnight

    if kind == "equals":
        return and_(column >= day(start), column < day(start, 1))
    if kind == "notEqual":
        return or_(column < day(start), column >= day(start, 1))
    if kind == "lessThan":
        return column < day(start)
    if kind == "greaterThan":
        return column >= day(start, 1)
    if kind == "inRange":
        end = _moment(model.get("dateTo"), name)
        if end < start:
            raise BadFilter(f"{name}: the range ends before it starts")
        return and_(column >= day(start), column < day(end, 1))
    raise BadFilter(f"{name}: unknown date filter {kind!r}")


def _condition(column, model: Mapping, name: str) -> ColumnElement[bool]:
    kind = model.get("type")
    if not isinstance(kind, str):
        raise BadFilter(f"{name}: a filter's type is a name such as 'equals', not {kind!r}")
    if kind == "blank":
        return column.is_(None)
    if kind == "notBlank":
        return column.is_not(None)
    if isinstance(column.type, UTCDateTime) or model.get("filterType") == "date":
        if not isinstance(column.type, UTCDateTime) and not is_epoch_ms(column):
            raise BadFilter(f"{name} is not a time column")
        return _date_condition(column, model, name)
    if kind == "inRange":
        low = _value(column, model.get("filter"), name)
        high = _value(column, model.get("filterTo"), name)
        return and_(column >= low, column <= high)
    if kind in _COMPARE:
        return _COMPARE[kind](column, _value(column, model.get("filter"), name))
    if kind in _TEXT:
        if not _is_text(column):
            raise BadFilter(f"{name}: {kind!r} applies to text columns only")
        return _TEXT[kind](column, _value(column, model.get("filter"), name))
    raise BadFilter(f"{name}: unknown filter type {kind!r}")


def _is_text(column) -> bool:
    return not isinstance(column.type, (Money, UTCDateTime, Boolean, Integer, Float))


def _bot_name_condition(column, model: Mapping, name: str) -> ColumnElement[bool]:
    """A text filter on a bot_id column filters by the bot's name (what the grid shows)."""
    named = _condition(col(Bot.name), model, name)
    return column.in_(select(Bot.id).where(named))


def _entry(spec: TableSpec, name: str, model: Any) -> ColumnElement[bool]:
    columns = spec.columns()
    if name not in columns:
        raise BadFilter(f"{spec.name} has no column {name!r} to filter on")
    if not isinstance(model, Mapping):
        raise BadFilter(f"{name}: a filter is an object")
    column = col(getattr(spec.table, name))
    one = _condition
    if name == "bot_id" and model.get("filterType") == "text":
        one = _bot_name_condition
    if "operator" in model:
        parts = model.get("conditions")
        if parts is None:
            parts = [model[key] for key in ("condition1", "condition2") if key in model]
        if not isinstance(parts, list) or not parts or len(parts) > MAX_CONDITIONS:
            raise BadFilter(f"{name}: give 1 to {MAX_CONDITIONS} conditions")
        if any(not isinstance(part, Mapping) for part in parts):
            raise BadFilter(f"{name}: a condition is an object")
        built = [one(column, part, name) for part in parts]
        operator = str(model["operator"]).upper()
        if operator not in ("AND", "OR"):
            raise BadFilter(f"{name}: operator must be AND or OR")
        return and_(*built) if operator == "AND" else or_(*built)
    return one(column, model, name)


def conditions(spec: TableSpec, filter_model: Any) -> list[ColumnElement[bool]]:
    """SQL conditions of a filter model; BadFilter with a message if any part is wrong."""
    if not filter_model:
        return []
    if not isinstance(filter_model, Mapping):
        raise BadFilter("the filter must be an object of column filters")
    return [_entry(spec, str(name), model) for name, model in filter_model.items()]


def ordering(spec: TableSpec, sort_model: Any) -> list:
    """ORDER BY of a sort model (indexed columns only), the id last to break ties."""
    if sort_model and not isinstance(sort_model, list):
        raise BadFilter("the sort must be a list of {colId, sort}")
    order = []
    for item in sort_model or []:
        name = item.get("colId") if isinstance(item, Mapping) else None
        direction = item.get("sort") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or name not in spec.sortable | {"id"}:
            allowed = ", ".join(sorted(spec.sortable | {"id"}))
            raise BadFilter(f"{spec.name} sorts by {allowed} only, not {name!r}")
        if not isinstance(direction, str) or direction not in ("asc", "desc"):
            raise BadFilter(f"{name}: sort is asc or desc, not {direction!r}")
        column = col(getattr(spec.table, name))
        order.append(column.asc() if direction == "asc" else column.desc())
    id_column = col(spec.table.id)
    last = sort_model[-1]["sort"] if sort_model else "desc"  # checked above
    order.append(id_column.asc() if last == "asc" else id_column.desc())
    return order


def query(spec: TableSpec, filter_model: Any = None, sort_model: Any = None) -> Select:
    """Every row matching the filters, in the asked order (newest first by default)."""
    return (
        select(spec.table)
        .where(*conditions(spec, filter_model))
        .order_by(*ordering(spec, sort_model))
    )


def plain_columns(columns: dict[str, Any]) -> list:
    """`columns` selected as they are stored: money as its integer units, times as the
    database gives them (what `csv_stream` formats)."""
    raw = {Money: BigInteger, UTCDateTime: String}  # skip the per-row conversions
    return [
        type_coerce(column, raw[type(column.type)]).label(name)
        if type(column.type) in raw
        else column
        for name, column in columns.items()
    ]


def plain_query(spec: TableSpec, filter_model: Any = None, sort_model: Any = None) -> Select:
    """The same rows as plain tuples of the shown columns, money as its raw integer units
    of 1e-8 and times as the database gives them (SQLite: text in UTC; PostgreSQL: an
    aware datetime): no object built per row, what a million-row export needs."""
    return (
        select(*plain_columns(spec.columns()))
        .where(*conditions(spec, filter_model))
        .order_by(*ordering(spec, sort_model))
    )


def _aggregates(spec: TableSpec, markers: tuple[str, ...]) -> list:
    parts = []
    for marker in markers:
        kind, name = marker.split(":")
        parts.append(getattr(func, kind)(col(getattr(spec.table, name))))
    return parts


def marker_queries(spec: TableSpec, filter_model: Any = None) -> list[Select]:
    """Rows of aggregates that change whenever a matching row is added or changed; each
    an indexed maximum or a sum over open rows, never a count of the whole table."""
    where = conditions(spec, filter_model)
    queries = [_one_row(_aggregates(spec, spec.markers), where)]
    if spec.open_markers:
        status = col(spec.table.status)
        queries.append(_one_row(_aggregates(spec, spec.open_markers), [*where, status == "open"]))
    return queries


def _one_row(aggregates: list, where: list) -> Select:
    """Each aggregate in its own subquery: a lone MAX is one index lookup, where two
    aggregates in one SELECT make SQLite scan the whole table."""
    return select(*(select(part).where(*where).scalar_subquery() for part in aggregates))


def parse_json(text: str | None, what: str) -> Any:
    """A filter or sort model from a URL parameter; BadFilter when it is not JSON."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise BadFilter(f"the {what} parameter is not valid JSON") from None
    except RecursionError:
        raise BadFilter(f"the {what} parameter is nested too deeply") from None
