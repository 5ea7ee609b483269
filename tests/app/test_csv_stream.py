"""The export's CSV text, on both databases: the same bytes for the same rows, exact money,
UTC times, quoting and the formula guard exactly where they belong, filters and order kept."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Text, cast, literal_column, select

from botdesk.app import csv_stream, tables
from botdesk.db.types import Money, UTCDateTime
from tests.factories import make_bot, signal_row

START = datetime(2026, 11, 21, 16, 12, 5, tzinfo=UTC)
# text as an operator or a webhook could write it, and the cell each must become
REASONS = [
    ("plain words", "plain words"),
    ("", ""),
    (None, ""),
    ("a,b", '"a,b"'),
    ('say "hi"', '"say ""hi"""'),
    ("line\nbreak", '"line\nbreak"'),
    ("carriage\rreturn", '"carriage\rreturn"'),
    ("windows\r\nline", '"windows\r\nline"'),
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
    ("@home", "'@home"),
    ("+1 more", "'+1 more"),
    ("- a dash", "'- a dash"),
    ("\tindented", "'\tindented"),
    ("=1,2", '"\'=1,2"'),
    ("-5", "-5"),
    ("+1.5e3", "+1.5e3"),
    ("-1_000.25", "-1_000.25"),
    ("-inf", "-inf"),
    ("-NaN", "-NaN"),
    ("café ₿ 1", "café ₿ 1"),
]
# (confidence, price, created_at's microseconds) and how they are written
VALUES = [
    (1.0, Decimal("67123.45678901"), 0, "1.0", "67123.45678901", ""),
    (0.1, Decimal("-0.00000001"), 250_000, "0.1", "-0.00000001", ".25"),
    (0.30000000000000004, Decimal("0"), 1, "0.30000000000000004", "0.00000000", ".000001"),
    (1e-05, None, 999_999, "1e-05", "", ".999999"),
    (0.0, Decimal("-123456789.12345678"), 100_000, "0.0", "-123456789.12345678", ".1"),
]


@pytest.fixture
def signals(db) -> list[tuple[int, int]]:
    bot = make_bot(db, name="csv-bot")
    made = []
    with db.writing() as session:
        for number, (reason, _) in enumerate(REASONS):
            confidence, price, micro, *_ = VALUES[number % len(VALUES)]
            made.append(
                signal_row(
                    bot,
                    number,
                    confidence=confidence,
                    price=price,
                    reason=reason,
                    created_at=START + timedelta(minutes=number, microseconds=micro),
                )
            )
        session.add_all(made)
        session.flush()
        return [(signal.id, signal.bot_id) for signal in made]  # (id, bot id), oldest first


def export(db, filter_model=None, sort_model=None) -> bytes:
    spec = tables.spec_of("signal")
    statement = tables.plain_query(spec, filter_model, sort_model)
    with db.reading() as session:
        return b"".join(csv_stream.lines(session.connection(), spec.columns(), statement))


def test_every_cell_is_written_exactly_on_either_database(db, signals):
    expected = [",".join(tables.spec_of("signal").columns())]
    rows = zip(signals, REASONS, strict=True)
    for number, ((signal_id, bot_id), (_, reason_cell)) in enumerate(rows):
        confidence, price, fraction = VALUES[number % len(VALUES)][3:]
        side = "buy" if number % 2 else "sell"
        stamp = f"2026-11-21T16:{12 + number:02d}:05{fraction}+00:00"
        expected.append(
            f"{signal_id},{bot_id},c:{number},strategy,BTCUSDT,1m,,{side},{confidence},"
            f"{price},,,{reason_cell},new,,{stamp}"
        )
    sort = [{"colId": "created_at", "sort": "asc"}]
    assert export(db, sort_model=sort).decode() == "\n".join(expected) + "\n"


def test_the_filter_and_the_order_are_the_grids(db, signals):
    buys = {"side": {"filterType": "text", "type": "equals", "filter": "buy"}}
    text = export(db, filter_model=buys, sort_model=[{"colId": "created_at", "sort": "desc"}])
    rows = list(csv.DictReader(io.StringIO(text.decode(), newline="")))
    assert {row["side"] for row in rows} == {"buy"}
    assert len(rows) == len(REASONS) // 2
    times = [row["created_at"] for row in rows]
    assert times == sorted(times, reverse=True)


def test_no_rows_is_the_header_alone(db):
    columns = ",".join(tables.spec_of("signal").columns())
    assert export(db) == f"{columns}\n".encode()


def written(db, expression) -> str:
    """The cell the export's SQL writes for one value, on the test's database."""
    with db.reading() as session:
        connection = session.connection()
        written = csv_stream.cell(expression, connection.dialect.name)
        # as text, as COPY writes it: NULL as an empty cell
        return connection.execute(select(cast(written, Text))).scalar_one() or ""


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (0, "0.00000000"),
        (1, "0.00000001"),
        (-1, "-0.00000001"),
        (123456789, "1.23456789"),
        (-6712345678901, "-67123.45678901"),
        (2**63 - 1, "92233720368.54775807"),
        (-(2**63 - 1), "-92233720368.54775807"),
        (None, ""),
    ],
)
def test_money_from_raw_units_is_exact(db, units, text):
    raw = literal_column("NULL" if units is None else str(units), Money())
    assert written(db, raw) == text
    if units is not None:
        assert Decimal(text) == Decimal(units).scaleb(-8)


@pytest.mark.parametrize(
    ("stored", "iso"),
    [
        ("2026-11-21 16:12:05.000000", "2026-11-21T16:12:05+00:00"),
        ("2026-11-21 16:12:05.250000", "2026-11-21T16:12:05.25+00:00"),
        ("2026-11-21 16:12:50.000001", "2026-11-21T16:12:50.000001+00:00"),
        ("2026-11-21 16:12:05", "2026-11-21T16:12:05+00:00"),
        (None, ""),
    ],
)
def test_times_become_iso_utc(db, stored, iso):
    if stored is None:
        raw = "NULL"
    elif db.engine.dialect.name == "postgresql":
        raw = f"CAST('{stored}+00:00' AS TIMESTAMPTZ)"
    else:  # as SQLite stores a UTC time: text, no offset
        raw = f"'{stored}'"
    assert written(db, literal_column(raw, UTCDateTime())) == iso
    if iso:
        assert datetime.fromisoformat(iso).tzinfo is not None
