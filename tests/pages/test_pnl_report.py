"""The P&L report on a real desk: figures from the fills, bad dates explained, the CSV
export carrying exactly what is shown (and audited)."""

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.db.test_pnl import trade
from tests.desk import call_registered, dependencies, first_output
from tests.factories import make_bot
from tests.rows import audit_trail

pytestmark = pytest.mark.integration


def grid_props(answer: dict) -> dict:
    """The P&L grid's properties, inside the dark-themed wrapper."""
    return answer["pnl-table"]["children"]["props"]["children"]["props"]


@pytest.fixture(scope="module")
def viewer(desk):
    gamma = make_bot(desk.db, name="gamma", symbol="SOLUSDT")
    trade(desk.db, gamma, "buy", "10", "150", "1.5", datetime(2024, 5, 30, 12, tzinfo=UTC))
    trade(desk.db, gamma, "sell", "10", "160.25", "1.6025", datetime(2024, 6, 2, 9, tzinfo=UTC))
    client = desk.signed_in("pnl-viewer", "viewer")
    client.callbacks = {first_output(dep["output"]): dep for dep in dependencies(client, desk.base)}
    return client


def show(desk, client, **values):
    wired = {f"pnl-{key}.value": value for key, value in values.items()}
    response = call_registered(client, desk.base, client.callbacks["pnl-chart.figure"], wired)
    assert response.status_code == 200, response.text[:300]
    return response.json()["response"]


def test_monthly_by_symbol_from_the_fills(desk, viewer):
    answer = show(
        desk, viewer, period="month", by="symbol", **{"from": "2024-05-01", "to": "2024-06-30"}
    )
    grid = grid_props(answer)
    # May: -1.5 (the buy's fee); June: 1602.5 - 1500 - 1.6025 = 100.8975
    assert [(r["period"], r["group"], r["realized_pnl"], r["fills"]) for r in grid["rowData"]] == [
        ("2024-05", "SOLUSDT", -1.5, 1),
        ("2024-06", "SOLUSDT", 100.8975, 1),
    ]
    assert "Realized P&L, net (USDT)" in str(grid["columnDefs"])
    assert "+99.40 USDT" in str(answer["pnl-cards"])  # the total, net of both fees
    assert answer["pnl-summary"]["children"].startswith("monthly realized P&L by symbol")
    bars = [trace for trace in answer["pnl-chart"]["figure"]["data"] if trace["type"] == "bar"]
    assert [trace["name"] for trace in bars] == ["SOLUSDT"]


def test_without_dates_the_report_ends_at_the_newest_fill(desk, viewer):
    answer = show(desk, viewer, period="day", by="bot", **{"from": None, "to": None})
    assert "2024-05-04 to 2024-06-02" in answer["pnl-summary"]["children"]
    assert {r["group"] for r in grid_props(answer)["rowData"]} == {"gamma"}


def test_bad_dates_are_explained(desk, viewer):
    reversed_range = show(
        desk, viewer, period="day", by="bot", **{"from": "2024-06-02", "to": "2024-06-01"}
    )
    assert "From (2024-06-02) is after To (2024-06-01)" in str(reversed_range["pnl-table"])
    nonsense = show(desk, viewer, period="day", by="bot", **{"from": "June", "to": None})
    assert "is not a date" in str(nonsense["pnl-table"])


def test_an_empty_range_says_what_to_do(desk, viewer):
    answer = show(
        desk, viewer, period="week", by="bot", **{"from": "2020-01-01", "to": "2020-01-31"}
    )
    assert "No fills between" in str(answer["pnl-table"]) and "Bots page" in str(
        answer["pnl-table"]
    )


def test_export_downloads_the_shown_rows_exactly_and_is_audited(desk, viewer):
    values = {
        "pnl-export.n_clicks": 1,
        "pnl-period.value": "day",
        "pnl-by.value": "bot",
        "pnl-from.value": "2024-05-30",
        "pnl-to.value": "2024-06-02",
    }
    dependency = viewer.callbacks["pnl-download.data"]
    response = call_registered(viewer, desk.base, dependency, values)
    assert response.status_code == 200
    download = response.json()["response"]["pnl-download"]["data"]
    assert download["filename"] == "botdesk-pnl-day-by-bot-2024-05-30-to-2024-06-02.csv"
    rows = list(csv.DictReader(io.StringIO(download["content"])))
    assert [(r["period_start_utc"], r["bot"], r["realized_pnl_usdt"]) for r in rows] == [
        ("2024-05-30", "gamma", "-1.50000000"),
        ("2024-06-02", "gamma", "100.89750000"),
    ]
    exported = audit_trail(desk.db, actor="pnl-viewer", action="export.pnl")
    assert len(exported) == 1 and '"rows": 2' in exported[0].details


def test_the_chart_draws_the_largest_movers_and_sums_the_rest(desk, viewer):
    day = datetime(2019, 1, 15, 12, tzinfo=UTC)
    for number in range(10):  # bot i loses i+1 USDT of fees on one buy
        bot = make_bot(desk.db, name=f"mover-{number}", symbol="BTCUSDT")
        trade(desk.db, bot, "buy", "0.001", "3500", str(number + 1), day)
    answer = show(
        desk, viewer, period="month", by="bot", **{"from": "2019-01-01", "to": "2019-01-31"}
    )
    traces = answer["pnl-chart"]["figure"]["data"]
    bars = {trace["name"]: trace["y"] for trace in traces if trace["type"] == "bar"}
    assert set(bars) == {f"mover-{n}" for n in range(2, 10)} | {"2 others"}
    assert bars["2 others"] == [-3.0]  # mover-0 and mover-1: -1 and -2
    total = next(trace for trace in traces if trace["name"] == "total")
    assert total["y"] == [-55.0]
    assert len(grid_props(answer)["rowData"]) == 10  # the table has all
