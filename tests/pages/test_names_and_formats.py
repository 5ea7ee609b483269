"""Issue 14 item 27: the desk names things and writes dates its own way everywhere:
command targets by name ("bot btc-fast", not "bot:9"), dates typed and shown as
YYYY-MM-DD (the browser's date input showed mm/dd/yyyy)."""

import json

import pytest

from botdesk.db import commands
from tests.desk import grid_rows, render
from tests.factories import make_bot, make_position

pytestmark = pytest.mark.integration


def test_command_targets_read_as_names(desk):
    bot = make_bot(desk.db, name="btc-named")
    position = make_position(desk.db, bot)
    with desk.db.writing() as session:
        for kind, target in (
            ("bot.start", f"bot:{bot.id}"),
            ("position.close", f"position:{position.id}"),
        ):
            commands.issue(session=session, kind=kind, issued_by="names-trader", target=target)
    viewer = desk.signed_in("names-viewer")
    mine = {"issued_by": {"filterType": "text", "type": "equals", "filter": "names-trader"}}
    answer = grid_rows(viewer, desk.base, "bots-commands", {"filterModel": mine})
    rows = answer['{"name":"bots-commands","type":"desk-grid"}']["getRowsResponse"]["rowData"]
    assert [row["target"] for row in rows] == [
        f"position btc-named {position.symbol}",
        "bot btc-named",
    ]


def _props_with_id(page: str, component_id: str) -> dict:
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == component_id:
                found.append(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(page))
    assert len(found) == 1, (component_id, found)
    return found[0]


@pytest.mark.parametrize(
    ("path", "role", "inputs"),
    [
        ("/backtests", "viewer", ("backtests-from", "backtests-to")),
        ("/pnl", "viewer", ("pnl-from", "pnl-to")),
        ("/audit", "admin", ("audit-from", "audit-to")),
    ],
)
def test_date_fields_read_iso_not_the_browsers_locale(desk, path, role, inputs):
    page = render(desk.signed_in(f"names-dates-{path[1:]}", role), desk.base, path)
    for component_id in inputs:
        props = _props_with_id(page, component_id)
        assert props.get("type") == "text" and props.get("placeholder") == "YYYY-MM-DD"


def test_grid_date_filters_are_typed_iso(desk):
    page = render(desk.signed_in("names-grid-dates"), desk.base, "/fills")
    columns = []

    def walk(node):
        if isinstance(node, dict):
            columns.extend(node.get("columnDefs") or [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(page))
    dated = [c for c in columns if c.get("filter") == "agDateColumnFilter"]
    assert dated and all(c["filterParams"]["browserDatePicker"] is False for c in dated)
