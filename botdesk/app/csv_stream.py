"""A table's rows as CSV (UTF-8), a batch of lines at a time, the same text on both databases.

PostgreSQL formats the cells itself and streams them with `COPY (SELECT ...) TO STDOUT`: no
Python object is built per row. On SQLite the raw cursor's rows are converted a column at a
time. Both write: money with exactly 8 decimals (from its integer units, never a float),
times in UTC as `2026-11-21T16:12:05.25+00:00` (fraction only when there is one, without
trailing zeros), booleans as true/false, floats as Python writes them, NULL and empty text
as an empty cell, a cell quoted when it holds a comma, a quote or a line break, and text a
spreadsheet would run as a formula prefixed with `'` (see `api.rows.safe_csv_text`).
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Integer,
    Numeric,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    type_coerce,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from botdesk.app.api.rows import FORMULA_START, safe_csv_text
from botdesk.db.types import MONEY_PLACES, Money, UTCDateTime

BATCH = 5000
TEXT_CELLS_REMEMBERED = 4096
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
# What Python's float() reads (api.rows._is_number): such text is a number, not a formula.
_PG_NUMBER = (
    r"^\s*[-+]?((([0-9](_?[0-9])*)(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)"
    r"([eE][-+]?[0-9](_?[0-9])*)?|inf|infinity|nan)\s*$"
)


def header(columns: dict[str, Any]) -> str:
    return ",".join(columns) + "\n"


def lines(connection: Connection, columns: dict[str, Any], statement: Select) -> Iterator[bytes]:
    """The header, then the rows of `statement` (which selects `columns`, as
    `tables.plain_query` does: money as integer units, times as the database gives them)."""
    yield header(columns).encode()
    if connection.dialect.name == "postgresql":
        yield from _copied(connection, columns, statement)
    else:
        yield from _fetched(connection, columns, statement)


# --- Python: a column at a time -------------------------------------------------------


def money_units_text(units: int | None) -> str:
    """Exact text of money stored as integer units of 1e-8: 123456789 -> 1.23456789."""
    if units is None:
        return ""
    digits = str(-units if units < 0 else units).rjust(MONEY_PLACES + 1, "0")
    sign = "-" if units < 0 else ""
    return f"{sign}{digits[:-MONEY_PLACES]}.{digits[-MONEY_PLACES:]}"


def utc_text(moment: Any) -> str:
    """ISO 8601 UTC of a time as SQLite stores it ('YYYY-MM-DD HH:MM:SS[.ffffff]', UTC)."""
    if moment is None:
        return ""
    fraction = moment[20:26].rstrip("0")
    return f"{moment[:10]}T{moment[11:19]}{'.' if fraction else ''}{fraction}+00:00"


def text_cell(text: str | None) -> str:
    if not text:
        return ""
    text = safe_csv_text(text) if text.startswith(FORMULA_START) else text
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


class _TextCells(dict):
    """Cells of text already seen: most text columns repeat a few values (symbol, side,
    status), so each is converted once; forgotten in bulk when a column never repeats."""

    def __missing__(self, text: str | None) -> str:
        if len(self) >= TEXT_CELLS_REMEMBERED:
            self.clear()
        cell = self[text] = text_cell(text)
        return cell


def _or_empty(convert: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda value: "" if value is None else convert(value)


def _converter(column) -> Callable[[Any], str]:
    kind = column.type
    if isinstance(kind, Money):
        return money_units_text
    if isinstance(kind, UTCDateTime):
        return utc_text
    if isinstance(kind, Boolean):
        return _or_empty(lambda value: "true" if value else "false")
    if isinstance(kind, (Integer, Float)):
        return _or_empty(str) if column.nullable else str
    return _TextCells().__getitem__


def _fetched(connection: Connection, columns: dict[str, Any], statement: Select) -> Iterator[bytes]:
    converters = [_converter(column) for column in columns.values()]
    # The DB-API cursor itself: plain_query's columns need no result processing, so the
    # rows are taken as the driver gives them, without building a Row for each.
    cursor = connection.execute(statement).cursor
    while rows := cursor.fetchmany(BATCH):
        by_column = zip(converters, zip(*rows, strict=True), strict=True)
        cells = [list(map(convert, values)) for convert, values in by_column]
        text = "\n".join(map(",".join, zip(*cells, strict=True)))
        yield text.encode() + b"\n"


# --- PostgreSQL: the server formats, COPY streams -------------------------------------


def _pg_cell(column) -> Any:
    """The SQL that writes one column's cell as the Python side would."""
    kind = column.type
    if isinstance(kind, Money):  # numeric * 1e-8 prints exactly 8 decimals, never an exponent
        units = type_coerce(column, BigInteger)
        return cast(units, Numeric) * literal_column(f"0.{'0' * (MONEY_PLACES - 1)}1")
    if isinstance(kind, UTCDateTime):  # datestyle ISO (set for the COPY): 'YYYY-MM-DD HH:MM:SS[.f]'
        local = cast(func.timezone(literal_column("'UTC'"), column), Text)
        return type_coerce(func.replace(local, " ", "T"), Text) + literal_column("'+00:00'")
    if isinstance(kind, Boolean):
        return case((column.is_(None), None), (column, "true"), else_="false")
    if isinstance(kind, Float):  # Python writes 1.0 where PostgreSQL writes 1
        shown = cast(column, Text)
        return case((shown.regexp_match("^-?[0-9]+$"), shown + ".0"), else_=shown)
    if isinstance(kind, Integer):
        return column
    formula = and_(
        func.ascii(column).in_([literal_column(str(ord(start))) for start in FORMULA_START]),
        not_(column.regexp_match(_PG_NUMBER, flags="i")),
    )
    guarded = case((formula, literal("'", Text) + column), else_=column)
    return func.nullif(guarded, "")  # COPY writes NULL as an empty cell, '' as ""


def _copied(connection: Connection, columns: dict[str, Any], statement: Select) -> Iterator[bytes]:
    formatted = statement.with_only_columns(
        *(_pg_cell(column).label(name) for name, column in columns.items())
    )
    dialect = connection.dialect
    compiled = formatted.compile(dialect=dialect)
    parameters = {}  # bound by psycopg on the client: COPY takes no server-side parameters
    for name, value in compiled.params.items():
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        parameters[name] = process(value) if process else value
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute("SET LOCAL datestyle TO ISO")
        cursor.execute("SET LOCAL extra_float_digits TO 1")
        with cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)", parameters) as copy:
            blocks = []
            for block in copy:  # one row each
                blocks.append(block)
                if len(blocks) == BATCH:
                    yield b"".join(blocks)
                    blocks.clear()
            yield b"".join(blocks)
