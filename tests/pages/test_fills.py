"""The Fills page on a real desk: realized P&L filtered as a number, money exact to the cent
in the grid and to 1e-8 in the export."""

from decimal import Decimal

import pytest

from botdesk.db.models import Fill, Order
from tests.desk import grid_rows, render
from tests.factories import make_bot

pytestmark = pytest.mark.integration
KEY = '{"name":"fills","type":"desk-grid"}'


def test_fills_filter_on_pnl(desk):
    viewer = desk.signed_in("fills-viewer")
    assert "Fills" in render(viewer, desk.base, "/fills")
    bot = make_bot(desk.db, name="filling")
    with desk.db.writing() as session:
        order = Order(
            bot_id=bot.id,
            client_order_id="fill-o",
            symbol="BTCUSDT",
            side="sell",
            quantity=Decimal(1),
        )
        session.add(order)
        session.flush()
        for number, pnl in enumerate(["-0.00000001", "0", "0.5", "1234.56789"]):
            session.add(
                Fill(
                    order_id=order.id,
                    bot_id=bot.id,
                    trade_id=f"f{number}",
                    symbol="BTCUSDT",
                    side="sell",
                    quantity=Decimal("0.1"),
                    price=Decimal(60000),
                    realized_pnl=Decimal(pnl),
                )
            )
    losses = {"realized_pnl": {"filterType": "number", "type": "lessThan", "filter": 0}}
    answer = grid_rows(viewer, desk.base, "fills", {"filterModel": losses})
    rows = answer[KEY]["getRowsResponse"]["rowData"]
    assert [row["trade_id"] for row in rows] == ["f0"]  # one hundred-millionth below zero
    assert rows[0]["realized_pnl"] == "-0.00"
    href = answer['{"name":"fills","type":"desk-grid-export"}']["href"]
    exported = viewer.get(desk.base + href).text.splitlines()
    assert len(exported) == 2 and ",-0.00000001," in exported[1]
    gains = {"realized_pnl": {"filterType": "number", "type": "greaterThan", "filter": 1000}}
    rows = grid_rows(viewer, desk.base, "fills", {"filterModel": gains})[KEY]["getRowsResponse"]
    assert [row["realized_pnl"] for row in rows["rowData"]] == ["1,234.57"]
