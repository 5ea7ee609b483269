"""A table's rows as CSV (UTF-8), a batch of lines at a time, the same text on both databases.

The database writes every cell itself, so no Python object is built per cell: PostgreSQL
streams the lines with `COPY (SELECT ...) TO STDOUT`, SQLite writes each row's whole line
with one `printf` and hands it over as bytes. Both write: money with exactly 8 decimals
(from its integer units, never a float), times in UTC as `2026-11-21T16:12:05.25+00:00`
(fraction only when there is one, without trailing zeros), booleans as true/false, floats
as Python writes them, NULL and empty text as an empty cell, a cell quoted when it holds a
comma, a quote or a line break, and text a spreadsheet would run as a formula prefixed with
`'` (see `api.rows.safe_csv_text`).
"""

import functools
import operator
import re
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator

from botdesk.app.api.rows import FORMULA_START, safe_csv_text
from botdesk.db.models import Bot
from botdesk.db.types import MONEY_PLACES, Money, UTCDateTime


class EpochMs(TypeDecorator):
    """Milliseconds since the epoch (a candle's open time), written as a UTC time cell
    like every other time: `2024-10-28T09:00:00+00:00` (whole seconds: candles open on
    them). Use with `type_coerce(column, EpochMs())`."""

    impl = BigInteger
    cache_ok = True


BATCH = 5000
QUOTED_IF_HELD = ',"\r\n'  # a cell holding any of these is quoted
_NEEDS_QUOTES = re.compile(f"[{re.escape(QUOTED_IF_HELD)}]")
_QUOTES_GLOB = f"*[{QUOTED_IF_HELD}]*"
_FORMULA_GLOB = "[" + "".join(sorted(FORMULA_START, key=lambda start: start == "-")) + "]*"
_PRINTF_ARGUMENTS = 100
# What Python's float() reads (api.rows._is_number): such text is a number, not a formula.
_PG_NUMBER = (
    r"^\s*[-+]?((([0-9](_?[0-9])*)(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)"
    r"([eE][-+]?[0-9](_?[0-9])*)?|inf|infinity|nan)\s*$"
)


def shown_columns(columns: dict[str, Any]) -> dict[str, Any]:
    """A table's columns as the desk shows them, for its CSV: each bot_id followed by the
    bot's name (`bot`), and a candle's time in milliseconds (`candle_open_ms`, `from_ms`)
    as a UTC time like every other time (`candle_open`, `from`)."""
    shown: dict[str, Any] = {}
    for name, column in columns.items():
        if name.endswith("_ms") and isinstance(column.type, Integer):
            shown[name.removesuffix("_ms")] = type_coerce(column, EpochMs())
            continue
        shown[name] = column
        if name == "bot_id":
            bot_name = select(Bot.name).where(Bot.__table__.c.id == column).scalar_subquery()
            shown["bot"] = type_coerce(bot_name, String)
    return shown


def header(columns: dict[str, Any]) -> str:
    return ",".join(columns) + "\n"


def lines(connection: Connection, columns: dict[str, Any], statement: Select) -> Iterator[bytes]:
    """The header, then the rows of `statement` (which selects `columns`, as
    `tables.plain_query` does: money as integer units, times as the database gives them)."""
    yield header(columns).encode()
    if connection.dialect.name == "postgresql":
        yield from _copied(connection, columns, statement)
    else:
        yield from _written(connection, columns, statement)


def cell(column, dialect: str):
    """The SQL writing one column's CSV cell on `dialect` ("postgresql" or "sqlite"); NULL
    stands for an empty cell."""
    if dialect == "postgresql":
        return _pg_cell(column)
    conversion, arguments = _sqlite_cell(column)
    return func.printf(conversion, *arguments)


# --- SQLite: the database writes each line, one printf per row ------------------------


def _sqlite_cell(column) -> tuple[str, list]:
    """One column's cell as a printf conversion and its arguments, written as the
    PostgreSQL side writes it; money, times and plain text never leave SQLite's C code."""
    kind = column.type
    nullable = getattr(column, "nullable", True)
    if isinstance(kind, EpochMs):
        seconds = type_coerce(column, BigInteger) / 1000
        conversion = "%s+00:00"
        arguments = [func.strftime("%Y-%m-%dT%H:%M:%S", seconds, "unixepoch")]
    elif isinstance(kind, Money):
        units = type_coerce(column, BigInteger)
        size = type_coerce(func.abs(units), BigInteger)
        unit = 10**MONEY_PLACES
        conversion = f"%s%d.%0{MONEY_PLACES}d"
        arguments = [case((units < 0, "-"), else_=""), size // unit, size % unit]
    elif isinstance(kind, UTCDateTime):  # stored 'YYYY-MM-DD HH:MM:SS[.ffffff]', in UTC
        stored = type_coerce(column, String)
        whole_second = func.substr(stored, 21) == "000000"
        fraction = case((whole_second, ""), else_=func.rtrim(func.substr(stored, 20), "0"))
        conversion = "%.10sT%.8s%s+00:00"  # date, 'T', time of day, fraction, offset
        arguments = [stored, func.substr(stored, 12), fraction]
    elif isinstance(kind, Boolean):
        return "%s", [case((column.is_(None), ""), (column, "true"), else_="false")]
    elif isinstance(kind, Float):  # as Python writes it: 1e-05 where SQLite writes 1.0e-05
        return "%s", [func.botdesk_float_cell(column)]
    elif isinstance(kind, Integer):  # %s writes NULL as nothing; %d spares a text copy
        return "%s" if nullable else "%d", [column]
    else:
        quoted = literal('"') + func.replace(column, '"', '""') + literal('"')
        cell = case(
            (column.op("GLOB")(_FORMULA_GLOB), func.botdesk_text_cell(column)),
            (column.op("GLOB")(_QUOTES_GLOB), quoted),
            else_=column,
        )
        return "%s", [cell]
    if nullable:
        return "%s", [case((column.is_(None), ""), else_=func.printf(conversion, *arguments))]
    return conversion, arguments


def _sqlite_line(columns: dict[str, Any]):
    """The whole CSV line of a row, newline included, as bytes: one printf per up to
    _PRINTF_ARGUMENTS arguments (SQLite's own limit is 127), concatenated."""
    parts, conversions, arguments = [], [], []
    for column in columns.values():
        conversion, values = _sqlite_cell(column)
        if len(arguments) + len(values) > _PRINTF_ARGUMENTS:
            parts.append(func.printf(",".join(conversions) + ",", *arguments))
            conversions, arguments = [], []
        conversions.append(conversion)
        arguments.extend(values)
    parts.append(func.printf(",".join(conversions) + "\n", *arguments))
    return cast(functools.reduce(operator.add, parts), LargeBinary)


def _float_cell(value: Any) -> str:
    return "" if value is None else str(value)


def _written(connection: Connection, columns: dict[str, Any], statement: Select) -> Iterator[bytes]:
    driver = connection.connection.dbapi_connection
    driver.create_function("botdesk_float_cell", 1, _float_cell, deterministic=True)
    driver.create_function("botdesk_text_cell", 1, text_cell, deterministic=True)
    # The DB-API cursor itself: each row is one finished line, taken as the driver gives it.
    cursor = connection.execute(statement.with_only_columns(_sqlite_line(columns))).cursor
    while rows := cursor.fetchmany(BATCH):
        yield b"".join(map(itemgetter(0), rows))


def text_cell(text: str | None) -> str:
    """Text as a CSV cell (what the SQL of both databases writes, here for the rare text
    that needs the formula guard)."""
    if not text:
        return ""
    text = safe_csv_text(text) if text.startswith(FORMULA_START) else text
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


# --- PostgreSQL: the server formats, COPY streams -------------------------------------


def _pg_cell(column) -> Any:
    """The SQL that writes one column's cell as the Python side would."""
    kind = column.type
    if isinstance(kind, EpochMs):
        moment = func.to_timestamp(type_coerce(column, BigInteger) / 1000)
        utc = func.timezone(literal_column("'UTC'"), moment)
        shown = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
        return type_coerce(shown, Text) + literal_column("'+00:00'")
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
        *(cell(column, "postgresql").label(name) for name, column in columns.items())
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
