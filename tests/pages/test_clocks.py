"""Issue 14 item 21: "Time (UTC)" meant two clocks (the desk's wall clock on Signals,
Orders, Commands and Risk events; the replayed market's on Fills and Positions). Every
time header on the desk now names its clock, and market time comes first where a trade is."""

import json
import re

import pytest

from botdesk.db.models import RiskEvent
from tests.desk import render
from tests.factories import make_bot, make_position, signal_row

pytestmark = pytest.mark.integration

PAGES = ["/", "/signals", "/orders", "/fills", "/positions", "/risk", "/bots"]
CLOCKS = ("market time", "recorded")


def headers(page: str) -> list[str]:
    """Every grid header and every text that reads as a time header ("... (UTC)")."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("headerName"), str):
                found.append(node["headerName"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and re.search(r"UTC\)$", node):
            found.append(node)

    walk(json.loads(page))
    return found


@pytest.mark.parametrize("path", PAGES)
def test_every_time_header_names_its_clock(desk, path):
    bot = make_bot(desk.db, name=f"clock{PAGES.index(path)}")
    make_position(desk.db, bot)  # so the overview and positions show their tables
    with desk.db.writing() as session:
        session.add(signal_row(bot, 1, candle_open_ms=1_730_000_000_000))
        session.add(RiskEvent(bot_id=bot.id, kind="refused", message="too big"))
    page = render(desk.signed_in(f"clock-viewer-{PAGES.index(path)}"), desk.base, path)
    timed = [h for h in headers(page) if "UTC" in h]
    assert timed, f"{path} shows no time header: the test would prove nothing"
    for header in timed:
        assert any(clock in header.lower() for clock in CLOCKS), (path, header)


@pytest.mark.parametrize("path", ["/signals", "/orders", "/fills", "/positions"])
def test_market_time_is_the_first_column_where_a_trade_is(desk, path):
    page = render(desk.signed_in(f"clock-first-{path[1:]}"), desk.base, path)
    grid = [h for h in headers(page) if "UTC" in h or h in ("Bot", "Symbol")]
    assert "market time" in grid[0].lower(), grid
