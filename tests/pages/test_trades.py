"""The Trades page on a real desk: its round trips with partial exits below their trade,
each bot's performance, the filters (a bad one is said, not applied), the export links
carrying the filters, and a refresh only when a fill was booked."""

import json

import pytest

from tests.desk import dash_call, render
from tests.trips import at, book_trips, trade

pytestmark = pytest.mark.integration
SHOW = (
    "..trades-rows.children...trades-performance.children...trades-summary.children"
    "...trades-export.href...trades-performance-export.href...trades-marker.data.."
)


def inputs(bot="any", symbol=None, status="any", since=None, until=None, tick=None) -> list:
    values = {
        "trades-bot": bot,
        "trades-symbol": symbol,
        "trades-status": status,
        "trades-from": since,
        "trades-to": until,
    }
    found = [{"id": key, "property": "value", "value": value} for key, value in values.items()]
    return [*found, {"id": "trades-tick", "property": "n_intervals", "value": tick}]


def shown_text(children) -> str:
    return json.dumps(children, ensure_ascii=False)


def show(client, desk, marker=None, changed=None, **chosen):
    state = [{"id": "trades-marker", "property": "data", "value": marker}]
    return dash_call(client, desk.base, SHOW, inputs(**chosen), changed=changed, state=state)


def test_the_page_lists_round_trips_and_the_figures(desk):
    trips = book_trips(desk.db, prefix="pg-tr-")
    viewer = desk.signed_in("pg-tr-viewer")
    page = render(viewer, desk.base, "/trades")
    assert "trades-rows" in page and "Export trades CSV" in page and "pg-tr-alpha" in page
    answer = show(viewer, desk, bot=str(trips.alpha.id))
    assert answer.status_code == 200, answer.text[:300]
    response = answer.json()["response"]
    rows = shown_text(response["trades-rows"]["children"])
    for shown in (
        "-159.88",  # P&L of the first trade
        "-0.53 %",  # its P&L %
        "59.90",  # its fees
        "3h 30m",  # its duration
        "ema 9 crossed above 21 (0.80)",  # the entry signal and its confidence
        "closed by an operator: news: exchange halt",  # the exit reason with the operator's
        "\u21b3 partial exit 1",
        "187.82",  # the partial exit's P&L
        "take-profit",
        "+1.41 %",  # the second trade's P&L %
        "open",
    ):
        assert shown in rows, shown
    figures = shown_text(response["trades-performance"]["children"])
    for shown in ("pg-tr-alpha", "50.0 %", "0.55", "159.88", "2h 07m", "-36.21"):
        assert shown in figures, shown
    assert response["trades-export"]["href"] == f"/export/trade.csv?bot={trips.alpha.id}"
    assert response["trades-performance-export"]["href"].endswith(f"?bot={trips.alpha.id}")
    marker = response["trades-marker"]["data"]
    tick = ["trades-tick.n_intervals"]
    quiet = show(viewer, desk, marker, changed=tick, bot=str(trips.alpha.id), tick=1)
    assert quiet.status_code == 204  # nothing booked: nothing sent
    # the open trade closes: -12 + (12200 - 12000 - 12.2) = 175.80
    trade(desk.db, trips.alpha, "sell", "0.2", "61000", "12.2", at("2024-04-03T11:00:00"))
    moved = show(viewer, desk, marker, changed=tick, bot=str(trips.alpha.id), tick=2)
    assert moved.status_code == 200
    assert "+175.80" in shown_text(moved.json()["response"]["trades-rows"]["children"])


def test_filters_narrow_and_a_bad_one_is_said(desk):
    trips = book_trips(desk.db, prefix="pg-tf-")
    viewer = desk.signed_in("pg-tf-viewer")
    answer = show(viewer, desk, symbol="ethusdt", status="closed", since="2024-04-01")
    response = answer.json()["response"]
    rows = shown_text(response["trades-rows"]["children"])
    assert "pg-tf-beta" in rows and "pg-tf-alpha" not in rows
    query = "symbol=ETHUSDT&status=closed&from=2024-04-01"
    assert response["trades-export"]["href"] == f"/export/trade.csv?{query}"
    bad = show(viewer, desk, since="2024-04-09", until="2024-04-01").json()["response"]
    assert "is after to" in shown_text(bad["trades-rows"]["children"])
    assert trips.alpha.id  # (booked for the page, left out by the symbol filter)
