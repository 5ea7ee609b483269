"""The Positions page on a real desk: open positions with a Close button for traders; the
close needs a reason and becomes a `position.close` command; viewers are refused."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db import commands, portfolio
from botdesk.db.models import Command, Order, Position, Protection
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


def _booked(desk, bot, trades) -> None:
    """Orders and fills booked by the engine's own ledger: (side, qty, price, fee, purpose, at)."""
    from botdesk.engine.ledger import BrokerFill, record_fill

    with desk.db.writing() as session:
        for number, (side, quantity, price, fee, purpose, at) in enumerate(trades):
            order = Order(
                bot_id=bot.id,
                client_order_id=f"closed-{bot.id}-{number}",
                symbol=bot.symbol,
                side=side,
                quantity=Decimal(quantity),
                purpose=purpose,
            )
            session.add(order)
            session.flush()
            fill = BrokerFill(
                order_id=order.id,
                trade_id=str(number),
                quantity=Decimal(quantity),
                price=Decimal(price),
                fee=Decimal(fee),
                fee_asset="USDT",
                fee_quote=Decimal(fee),
                filled_at=at,
            )
            record_fill(session=session, order=order, fill=fill)


def test_a_closed_position_shows_what_it_closed_at_and_why(desk):
    """Issue 14 item 22: a closed position showed Qty 0.00000000, no exit price, no P&L %,
    no duration and not the operator's reason."""
    bot = make_bot(desk.db, name="closer")
    start = datetime(2024, 10, 28, 9, 0, tzinfo=UTC)
    _booked(
        desk,
        bot,
        [
            ("buy", "0.3", "60000", "18", "entry", start),
            ("buy", "0.2", "60500", "12.1", "entry", start + timedelta(minutes=5)),
            ("sell", "0.5", "61000", "30.5", "close", start + timedelta(hours=3, minutes=5)),
        ],
    )
    with desk.db.writing() as session:
        position = session.exec(select(Position).where(Position.bot_id == bot.id)).one()
        commands.issue(
            session=session,
            kind="position.close",
            issued_by="pos-closer",
            target=f"position:{position.id}",
            params={"reason": "taking profit before the weekend"},
            reason="taking profit before the weekend",
        )
    assert position.status == "closed" and position.quantity == 0
    viewer = desk.signed_in("pos-history")
    mine = {"bot_id": {"filterType": "text", "type": "equals", "filter": "closer"}}
    answer = grid_rows(viewer, desk.base, "positions", {"filterModel": mine})
    [row] = answer['{"name":"positions","type":"desk-grid"}']["getRowsResponse"]["rowData"]
    # bought 0.3 at 60,000 and 0.2 at 60,500 (30,100 paid), sold 0.5 at 61,000 (30,500):
    # realized 400 - 60.6 fees = 339.40, 1.13 % of what was paid
    assert row["closed_qty"] == "0.5"
    assert row["exit_price"] == "61,000.00"
    assert row["realized_pnl"] == "339.40"
    assert row["pnl_percent"] == "+1.13 %"
    assert row["held"] == "3h 05m"
    assert row["close_reason"] == "close: taking profit before the weekend"
    assert row["closed_at"] == "2024-10-28 12:05:00"


def _open_rows(page: str) -> dict[str, list]:
    """The open positions table's cells by bot name, from the rendered layout."""

    def find(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == "positions-open-table":
                return node
            return next(filter(None, map(find, node.values())), None)
        if isinstance(node, list):
            return next(filter(None, map(find, node)), None)
        return None

    def text(node):
        if isinstance(node, dict):
            return text(node.get("props", {}).get("children"))
        if isinstance(node, list):
            return "".join(text(child) for child in node)
        return "" if node is None else str(node)

    body = find(json.loads(page))["props"]["children"][1]["props"]["children"]
    rows = [[text(cell) for cell in row["props"]["children"]] for row in body]
    return {row[1]: row for row in rows}


def test_each_open_position_shows_what_protects_it(desk):
    """Held by the exchange: its stop, take-profit and status (the newest of a replaced
    one); watched by the engine: "engine"; nothing: "-"."""
    held = make_position(desk.db, make_bot(desk.db, name="prot-held"), stop_price=Decimal("1"))
    moving = make_position(desk.db, make_bot(desk.db, name="prot-moving"))
    watched = make_position(
        desk.db, make_bot(desk.db, name="prot-engine"), stop_price=Decimal("57000")
    )
    make_position(desk.db, make_bot(desk.db, name="prot-trail"), trailing_percent=Decimal("2"))
    make_position(desk.db, make_bot(desk.db, name="prot-none"))
    done = make_position(desk.db, make_bot(desk.db, name="prot-done"), take_profit=Decimal("70000"))
    with desk.db.reading() as session:
        before = portfolio.open_positions_marker(session=session)
    with desk.db.writing() as session:
        for number, (position, status, stop, take_profit, cancelling) in enumerate(
            [
                (held, "open", "58000", "65000", False),
                (moving, "cancelled", "50000", None, False),  # replaced by the next
                (moving, "new", "59000.5", None, False),
                (done, "filled", "55000", "70000", False),  # done with: not held
                (watched, "unknown", None, "66000", True),
            ]
        ):
            session.add(
                Protection(
                    position_id=position.id,
                    bot_id=position.bot_id,
                    symbol="BTCUSDT",
                    list_client_order_id=f"prot-{position.id}-{number}",
                    quantity=Decimal("0.5"),
                    stop_price=Decimal(stop) if stop else None,
                    take_profit=Decimal(take_profit) if take_profit else None,
                    status=status,
                    cancel_requested=cancelling,
                )
            )
    with desk.db.reading() as session:
        assert portfolio.open_positions_marker(session=session) != before  # re-rendered
    rows = _open_rows(render(desk.signed_in("prot-viewer"), desk.base, "/positions"))
    column = rows["prot-held"].index("stop 58,000.00 · TP 65,000.00 · held")
    assert column == 7  # after Stop (USDT)
    shown = {bot: row[column] for bot, row in rows.items() if bot.startswith("prot-")}
    assert shown == {
        "prot-held": "stop 58,000.00 · TP 65,000.00 · held",
        "prot-moving": "stop 59,000.50 · to place",
        "prot-engine": "TP 66,000.00 · cancelling",
        "prot-trail": "engine",
        "prot-none": "-",
        "prot-done": "engine",
    }
