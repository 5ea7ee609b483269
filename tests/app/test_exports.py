"""CSV exports on a real desk: exactly the filtered rows, exact money, UTC times, a file name
with the time, role checks, and a clear 4xx for a bad table or filter."""

import csv
import io
import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db.models import Fill, Order
from tests.factories import make_bot
from tests.rows import audit_trail

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(desk):
    """Two bots, 40 fills between them with exact prices and P&L."""
    alpha, beta = make_bot(desk.db, name="x-alpha"), make_bot(desk.db, name="x-beta")
    with desk.db.writing() as session:
        orders = {}
        for bot in (alpha, beta):
            orders[bot.id] = Order(
                bot_id=bot.id,
                client_order_id=f"x-{bot.id}",
                symbol="BTCUSDT",
                side="buy",
                quantity=Decimal(1),
            )
            session.add(orders[bot.id])
        session.flush()
        for number in range(40):
            bot = alpha if number % 4 else beta
            session.add(
                Fill(
                    order_id=orders[bot.id].id,
                    bot_id=bot.id,
                    trade_id=f"t{number}",
                    symbol="BTCUSDT",
                    side="buy" if number % 2 else "sell",
                    quantity=Decimal("0.00000001") * (number + 1),
                    price=Decimal("67123.45678901") + number,
                    realized_pnl=Decimal("-1.23456789") * (number % 3),
                    filled_at=START + timedelta(hours=number),
                )
            )
    return {"alpha": alpha, "beta": beta}


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.text)))


def filtered(desk, *conditions) -> list[Fill]:
    with desk.db.reading() as session:
        query = select(Fill).where(*conditions).order_by(col(Fill.id).desc())
        return list(session.exec(query))


def test_export_holds_exactly_the_filtered_rows_with_exact_values(desk, seeded):
    viewer = desk.signed_in("export-viewer")
    model = {
        "bot_id": {"filterType": "text", "type": "equals", "filter": "x-alpha"},
        "side": {"filterType": "text", "type": "equals", "filter": "sell"},
        "filled_at": {
            "filterType": "date",
            "type": "inRange",
            "dateFrom": "2026-11-20 00:00:00",
            "dateTo": "2026-11-21 00:00:00",
        },
    }
    response = viewer.get(f"{desk.base}/export/fill.csv", params={"filter": json.dumps(model)})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="fill-\d{4}-\d\d-\d\dT\d{4}Z\.csv"', disposition)
    rows = read_csv(response)
    end = datetime(2026, 11, 22, tzinfo=UTC)
    expected = filtered(
        desk,
        Fill.bot_id == seeded["alpha"].id,
        Fill.side == "sell",
        col(Fill.filled_at) < end,
    )
    assert expected, "the filter selects nothing: it would prove nothing"
    assert [int(row["id"]) for row in rows] == [fill.id for fill in expected]
    first, fill = rows[0], expected[0]
    assert Decimal(first["price"]) == fill.price and first["price"].count(".") == 1
    assert first["price"] == f"{fill.price:.8f}" and first["quantity"] == f"{fill.quantity:.8f}"
    assert first["realized_pnl"] == f"{fill.realized_pnl:.8f}"
    assert datetime.fromisoformat(first["filled_at"]) == fill.filled_at
    assert first["filled_at"].endswith("+00:00")
    entry = audit_trail(desk.db, actor="export-viewer", action="export.csv")[-1]
    assert entry.target == "fill" and "x-alpha" in entry.details


def test_sort_is_applied_and_no_filter_exports_everything(desk, seeded):
    viewer = desk.signed_in("export-sorter")
    sort = [{"colId": "filled_at", "sort": "asc"}]
    rows = read_csv(viewer.get(f"{desk.base}/export/fill.csv", params={"sort": json.dumps(sort)}))
    every = filtered(desk)
    assert [int(row["id"]) for row in rows] == [f.id for f in sorted(every, key=_by_time)]


def _by_time(fill: Fill):
    return (fill.filled_at, fill.id)


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/export/nothing.csv", {}, 404, "there is no table 'nothing'"),
        ("/export/user.csv", {}, 404, "there is no table 'user'"),
        ("/export/fill.csv", {"filter": "{not json"}, 400, "filter parameter is not valid JSON"),
        (
            "/export/fill.csv",
            {"filter": '{"fee": {"type": "equals", "filter": "x"}}'},
            400,
            "not a number",
        ),
        (
            "/export/fill.csv",
            {"filter": '{"secret": {"type": "equals"}}'},
            400,
            "no column 'secret'",
        ),
        (
            "/export/bot.csv",
            {"filter": '{"webhook_token_hash": {"type": "notBlank"}}'},
            400,
            "no column",
        ),
        ("/export/fill.csv", {"sort": '[{"colId": "fee", "sort": "asc"}]'}, 400, "sorts by"),
        ("/export/fill.csv", {"bot": "1"}, 400, "unknown parameter 'bot'"),
        # issue 14 item 9: each of these answered 500 (or 200 with a truncated body)
        ("/export/fill.csv", {"sort": '[{"colId": ["id"], "sort": "asc"}]'}, 400, "sorts by"),
        ("/export/fill.csv", {"sort": '[{"colId": "id", "sort": ["asc"]}]'}, 400, "asc or desc"),
        (
            "/export/fill.csv",
            {
                "filter": '{"filled_at": {"filterType": "date", "type": "equals", '
                '"dateFrom": "9999-12-31"}}'
            },
            400,
            "past the last day a filter takes (9999-12-30)",
        ),
        (
            "/export/fill.csv",
            {
                "filter": '{"id": {"filterType": "number", "type": "equals", '
                '"filter": 1180591620717411303424}}'
            },
            400,
            "beyond what the column holds",
        ),
        (
            "/export/fill.csv",
            {
                "filter": '{"price": {"filterType": "number", "type": "greaterThan", '
                '"filter": 1180591620717411303}}'
            },
            400,
            "beyond what an amount can be",
        ),
        (
            "/export/fill.csv",
            {"filter": '{"side": {"filterType": "text", "type": ["equals"], "filter": "x"}}'},
            400,
            "a filter's type is a name",
        ),
        (
            "/export/fill.csv",
            {"filter": '{"side": {"filterType": "text", "type": "equals", "filter": "a\\u0000"}}'},
            400,
            "NUL character",
        ),
    ],
)
def test_bad_requests_get_a_clear_message(desk, path, params, status, message):
    case = zlib.crc32(str(params).encode())
    viewer = desk.signed_in(f"export-bad-{status}-{case}-{path[8:12]}")
    response = viewer.get(desk.base + path, params=params)
    assert response.status_code == status
    assert message in response.text


def test_the_audit_log_is_exported_to_admins_only(desk, seeded):
    viewer = desk.signed_in("export-nosy", "viewer")
    refused = viewer.get(f"{desk.base}/export/audit_log.csv")
    assert refused.status_code == 403
    assert audit_trail(desk.db, actor="export-nosy", action="access.refused")[-1].outcome == (
        "refused"
    )
    admin = desk.signed_in("export-admin", "admin")
    response = admin.get(
        f"{desk.base}/export/audit_log.csv", params={"actor": "export-nosy", "outcome": "refused"}
    )
    assert response.status_code == 200
    rows = read_csv(response)
    assert [row["action"] for row in rows] == ["access.refused"]
    assert admin.get(f"{desk.base}/export/audit_log.csv?outcome=maybe").status_code == 400


def test_the_audit_export_up_to_the_calendars_last_day_is_refused_clearly(desk):
    """to=9999-12-31 answered 500 (the day after it does not exist)."""
    admin = desk.signed_in("export-admin-late", "admin")
    late = admin.get(f"{desk.base}/export/audit_log.csv?to=9999-12-31")
    assert late.status_code == 400 and "up to 9999-12-30" in late.text
    assert admin.get(f"{desk.base}/export/audit_log.csv?to=9999-12-30").status_code == 200


def test_a_grid_request_nested_too_deeply_is_a_400_not_a_500(desk):
    viewer = desk.signed_in("export-deep")
    nested = "[" * 1100 + "]" * 1100
    body = '{"output": "x", "inputs": ' + nested + "}"
    response = viewer.post(
        f"{desk.base}/_dash-update-component",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "nested too deeply" in response.text


def test_anonymous_is_told_to_sign_in(desk):
    """A download (or a script) gets 401 and a line saying why, not the login page."""
    import requests

    response = requests.get(f"{desk.base}/export/fill.csv", allow_redirects=False, timeout=10)
    assert response.status_code == 401 and "location" not in response.headers
    assert response.text == "Sign in to the desk first.\n"


def test_the_export_names_the_bot_and_gives_candle_times_as_utc_times(desk):
    """Issue 14 item 26: the grid shows the bot's name and a UTC time; the export gave
    bot_id and epoch candle_open_ms only."""
    from botdesk.db.models import Signal

    bot = make_bot(desk.db, name="x-named")
    opened = datetime(2024, 10, 28, 9, 15, tzinfo=UTC)
    with desk.db.writing() as session:
        session.add(
            Signal(
                bot_id=bot.id,
                dedupe_key="named-1",
                symbol="BTCUSDT",
                timeframe="1m",
                side="buy",
                candle_open_ms=int(opened.timestamp() * 1000),
            )
        )
    viewer = desk.signed_in("export-names")
    mine = {"bot_id": {"filterType": "number", "type": "equals", "filter": bot.id}}
    response = viewer.get(f"{desk.base}/export/signal.csv", params={"filter": json.dumps(mine)})
    assert response.status_code == 200
    header = response.text.splitlines()[0].split(",")
    assert header[header.index("bot_id") + 1] == "bot"
    assert "candle_open" in header and "candle_open_ms" not in header
    [row] = read_csv(response)
    assert row["bot"] == bot.name and row["bot_id"] == str(bot.id)
    assert row["candle_open"] == "2024-10-28T09:15:00+00:00"
