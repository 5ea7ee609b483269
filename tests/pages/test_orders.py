"""The Orders page on a real desk: its grid filters by status and sorts by time, in UTC."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from botdesk.db.models import Order
from tests.desk import grid_rows, render
from tests.factories import make_bot

pytestmark = pytest.mark.integration
KEY = '{"name":"orders","type":"desk-grid"}'


def test_orders_filter_by_status_and_sort_by_time(desk):
    viewer = desk.signed_in("orders-viewer")
    empty = grid_rows(viewer, desk.base, "orders")
    assert empty['{"name":"orders","type":"desk-grid-note"}']["children"].startswith("No order yet")
    assert "Orders" in render(viewer, desk.base, "/orders")
    bot = make_bot(desk.db, name="ordering")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with desk.db.writing() as session:
        for number, status in enumerate(["filled", "cancelled", "filled", "open", "filled"]):
            session.add(
                Order(
                    bot_id=bot.id,
                    client_order_id=f"ord-{number}",
                    symbol="BTCUSDT",
                    side="buy",
                    quantity=Decimal("0.00100000"),
                    status=status,
                    created_at=start - timedelta(hours=number),
                )
            )
    request = {
        "filterModel": {"status": {"filterType": "text", "type": "equals", "filter": "filled"}},
        "sortModel": [{"colId": "created_at", "sort": "asc"}],
    }
    rows = grid_rows(viewer, desk.base, "orders", request)[KEY]["getRowsResponse"]["rowData"]
    assert [row["client_order_id"] for row in rows] == ["ord-4", "ord-2", "ord-0"]
    assert rows[-1]["created_at"] == "2026-01-01 00:00:00" and rows[0]["quantity"] == "0.00100000"
    assert {row["bot_id"] for row in rows} == {"ordering"}
