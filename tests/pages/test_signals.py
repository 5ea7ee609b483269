"""The Signals page on a real desk: its grid filters by bot, side, confidence and date, in
blocks; its Export CSV link downloads exactly the rows the grid selected."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.desk import grid_rows, render
from tests.factories import make_bot, signal_row

pytestmark = pytest.mark.integration
KEY = '{"name":"signals","type":"desk-grid"}'
START = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def bots(desk):
    found = {name: make_bot(desk.db, name=name) for name in ("sig-a", "sig-b")}
    with desk.db.writing() as session:
        for number in range(150):
            bot = found["sig-a"] if number % 3 else found["sig-b"]
            session.add(
                signal_row(
                    bot,
                    number,
                    confidence=(number % 10) / 10,
                    price=Decimal("70000.12345678") + number,
                    status="accepted",
                    created_at=START + timedelta(minutes=30 * number),
                )
            )
    return found


def test_filtered_blocks_and_the_export_hold_the_same_rows(desk, bots):
    viewer = desk.signed_in("sig-viewer")
    assert "Export CSV" in render(viewer, desk.base, "/signals")
    model = {
        "bot_id": {"filterType": "text", "type": "equals", "filter": "sig-a"},
        "side": {"filterType": "text", "type": "equals", "filter": "buy"},
        "confidence": {"filterType": "number", "type": "greaterThanOrEqual", "filter": 0.5},
        "created_at": {
            "filterType": "date",
            "type": "inRange",
            "dateFrom": "2026-11-20 00:00:00",
            "dateTo": "2026-11-21 00:00:00",
        },
    }
    request = {"filterModel": model, "sortModel": [{"colId": "created_at", "sort": "asc"}]}
    first = grid_rows(viewer, desk.base, "signals", {**request, "startRow": 0, "endRow": 10})
    block = first[KEY]["getRowsResponse"]
    assert len(block["rowData"]) == 10 and "rowCount" not in block  # more to come, uncounted
    rest = grid_rows(viewer, desk.base, "signals", {**request, "startRow": 10, "endRow": 110})
    tail = rest[KEY]["getRowsResponse"]
    shown = block["rowData"] + tail["rowData"]
    assert tail["rowCount"] == len(shown)  # the short block tells the grid where it ends
    assert {row["bot_id"] for row in shown} == {"sig-a"}
    assert {row["side"] for row in shown} == {"buy"}
    assert all(float(row["confidence"]) >= 0.5 for row in shown)
    assert [row["created_at"] for row in shown] == sorted(row["created_at"] for row in shown)
    assert all(row["created_at"] < "2026-11-22" for row in shown)

    href = first['{"name":"signals","type":"desk-grid-export"}']["href"]
    assert parse_qs(urlsplit(href).query).keys() == {"filter", "sort"}
    exported = viewer.get(desk.base + href)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(row["id"]) for row in rows] == [row["id"] for row in shown]
    assert rows[0]["price"].endswith(".12345678")  # exact, where the grid shows 2 places
    assert shown[0]["price"].endswith(".12")


def test_an_empty_result_says_so_and_a_bad_filter_is_explained(desk, bots):
    viewer = desk.signed_in("sig-viewer-2")
    nothing = {"symbol": {"filterType": "text", "type": "equals", "filter": "DOGEUSDT"}}
    answer = grid_rows(viewer, desk.base, "signals", {"filterModel": nothing})
    assert answer[KEY]["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    assert answer['{"name":"signals","type":"desk-grid-note"}']["children"] == (
        "No rows match these filters."
    )
    bad = {"confidence": {"filterType": "number", "type": "equals", "filter": "lots"}}
    answer = grid_rows(viewer, desk.base, "signals", {"filterModel": bad})
    assert "confidence: 'lots' is not a number" in str(answer)
