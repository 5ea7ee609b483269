"""The Positions page on a real desk: open positions with a Close button for traders; the
close needs a reason and becomes a `position.close` command; viewers are refused."""

from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db.models import Command
from tests.desk import click, grid_rows, render
from tests.factories import make_bot, make_position
from tests.rows import audit_trail

pytestmark = pytest.mark.integration


def close_commands(desk) -> list[Command]:
    with desk.db.reading() as session:
        query = select(Command).where(Command.kind == "position.close")
        return list(session.exec(query.order_by(col(Command.id))))


def test_open_positions_and_who_may_close_them(desk):
    bot = make_bot(desk.db, name="holder")
    position = make_position(
        desk.db, bot, unrealized_pnl=Decimal("-3.25"), last_price=Decimal("59993.5")
    )
    closed = make_position(
        desk.db, make_bot(desk.db, name="was-holder"), status="closed", realized_pnl=Decimal("4.5")
    )
    viewer = desk.signed_in("pos-viewer")
    page = render(viewer, desk.base, "/positions")
    assert "holder" in page and "59,993.50" in page and "-3.25" in page
    assert '"type":"positions-close"' not in page  # no Close button for a viewer
    trader = desk.signed_in("pos-trader", "trader")
    assert '"type":"positions-close"' in render(trader, desk.base, "/positions")

    rows = grid_rows(viewer, desk.base, "positions")
    shown = rows['{"name":"positions","type":"desk-grid"}']["getRowsResponse"]["rowData"]
    assert {row["id"] for row in shown} >= {position.id, closed.id}

    values = {"positions-target.data": position.id, "positions-reason.value": "too risky"}
    refused = click(viewer, desk.base, "positions-confirm", values)
    assert refused.status_code == 403 and close_commands(desk) == []
    assert audit_trail(desk.db, actor="pos-viewer", action="access.refused")

    no_reason = click(
        trader, desk.base, "positions-confirm", {**values, "positions-reason.value": " "}
    )
    assert "a reason is required" in no_reason.text and close_commands(desk) == []
    too_long = click(
        trader, desk.base, "positions-confirm", {**values, "positions-reason.value": "r" * 600}
    )
    assert "reason: at most 500 characters (600 given)" in too_long.text
    assert close_commands(desk) == []
    not_open = click(
        trader, desk.base, "positions-confirm", {**values, "positions-target.data": closed.id}
    )
    assert "not open" in not_open.text and close_commands(desk) == []

    done = click(trader, desk.base, "positions-confirm", values)
    assert done.status_code == 200 and "queued" in done.text
    [command] = close_commands(desk)
    assert (command.target, command.reason, command.issued_by) == (
        f"position:{position.id}",
        "too risky",
        "pos-trader",
    )
    assert audit_trail(desk.db, actor="pos-trader", action="command.position.close")
