"""Trades and per-bot performance through a real desk: `/api/v1/trades` (JSON and CSV,
filters, pages, every scope), the `trades` figures of `/api/v1/performance` beside its
time-weighted fields, and the desk's `/export/trade.csv` and `/export/trade_performance.csv`,
against the round trips worked out by hand in tests/trips.py."""

import csv
import io

import pytest

from tests.factories import make_api_key, make_user
from tests.rows import audit_trail
from tests.trips import book_trips

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(desk):
    trips = book_trips(desk.db, prefix="api-tr-")
    keys = {
        scope: make_api_key(desk.db, make_user(desk.db, role="admin"), scope)
        for scope in ("read", "trade", "admin")
    }
    return trips, keys


FIRST = {
    "status": "closed",
    "symbol": "BTCUSDT",
    "entry_at": "2024-04-01T10:00:00+00:00",
    "exit_at": "2024-04-01T13:30:00+00:00",
    "quantity": "0.50000000",
    "entry_price": "60000.00000000",
    "exited_quantity": "0.50000000",
    "exit_price": "59800.04938271",
    "cost": "30000.00000000",
    "proceeds": "29900.02469136",
    "pnl": "-159.87533333",
    "pnl_ratio": "-0.00532918",
    "fees": "59.90002469",
    "duration_seconds": 12600,
    "entry_signal": "ema 9 crossed above 21",
    "confidence": 0.8,
    "exit_reason": "close",
    "exit_note": "news: exchange halt",
}


def test_trades_of_a_bot_with_their_exits(desk, world):
    trips, keys = world
    for scope in ("read", "trade", "admin"):
        answer = desk.call("GET", f"/api/v1/trades?bot_id={trips.alpha.id}", keys[scope])
        assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [item["status"] for item in items] == ["open", "closed", "closed"]
    first = items[2]
    assert {name: first[name] for name in FIRST} == FIRST
    assert first["bot_name"] == "api-tr-alpha"
    assert [
        (e["quantity"], e["price"], e["pnl"], e["reason"], e["note"]) for e in first["exits"]
    ] == [
        ("0.20000000", "61000.12345678", "187.82466667", "exit", None),
        ("0.30000000", "59000.00000000", "-317.70000000", "close", "news: exchange halt"),
    ]
    assert items[1]["pnl"] == "87.44995000" and items[1]["exit_reason"] == "take_profit"
    assert items[0]["exit_at"] is None and items[0]["pnl"] == "-12.00000000"


def test_filters_pages_csv_and_refusals(desk, world):
    trips, keys = world
    key = keys["read"]
    base = f"/api/v1/trades?bot_id={trips.alpha.id}"
    first = desk.call("GET", f"{base}&limit=2", key).json()
    assert len(first["items"]) == 2 and first["next_cursor"] is not None
    rest = desk.call("GET", f"{base}&limit=2&cursor={first['next_cursor']}", key).json()
    assert [item["pnl"] for item in rest["items"]] == ["-159.87533333"]
    closed = desk.call("GET", f"{base}&status=closed&until=2024-04-02T00:00:00Z", key).json()
    assert [item["pnl"] for item in closed["items"]] == ["-159.87533333"]
    eth = desk.call("GET", "/api/v1/trades?symbol=ETHUSDT", key).json()["items"]
    assert [item["bot_id"] for item in eth] == [trips.beta.id]
    answer = desk.call("GET", f"{base}&status=closed&format=csv", key)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(row["row"], row["pnl"]) for row in rows] == [
        ("trade", "87.44995000"),
        ("exit", "93.65000000"),
        ("trade", "-159.87533333"),
        ("exit", "187.82466667"),
        ("exit", "-317.70000000"),
    ]
    assert (
        rows[4]["exit_note"] == "news: exchange halt" and rows[4]["exit_price"] == "59000.00000000"
    )
    for bad in ("status=won", "bot_id=0", "symbol=btc", "since=yesterday", "colour=red"):
        refused = desk.call("GET", f"/api/v1/trades?{bad}", key)
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["code"]
    assert desk.call("GET", "/api/v1/trades", None).status_code == 401


def test_performance_keeps_its_fields_and_adds_the_trades(desk, world):
    trips, keys = world
    found = desk.call("GET", f"/api/v1/performance?bot_id={trips.alpha.id}", keys["read"]).json()
    for kept in ("equity", "pnl", "net_flows", "return", "drawdown", "max_drawdown"):
        assert kept in found
    (alpha,) = found["trades"]
    assert alpha == {
        "bot_id": trips.alpha.id,
        "bot_name": "api-tr-alpha",
        "trades": 2,
        "wins": 1,
        "win_rate": "0.50000000",
        "average_pnl_ratio": "0.00438777",
        "total_pnl_ratio": "0.00877554",
        "total_pnl": "-72.42538333",
        "profit_factor": "0.54698838",
        "max_drawdown": "159.87533333",
        "average_duration_seconds": 7650,
        "expectancy": "-36.21269166",
    }


def test_the_desks_csv_exports(desk, world):
    trips, _ = world
    client = desk.signed_in("api-tr-viewer", "viewer")
    answer = client.get(f"{desk.base}/export/trade.csv?bot={trips.beta.id}", timeout=30)
    assert answer.status_code == 200, answer.text
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(row["row"], row["pnl"], row["exit_reason"]) for row in rows] == [
        ("trade", "140.09925000", "exit"),
        ("exit", "144.60000000", "exit"),
    ]
    answer = client.get(f"{desk.base}/export/trade_performance.csv?symbol=ETHUSDT", timeout=30)
    (row,) = list(csv.DictReader(io.StringIO(answer.text)))
    assert (row["bot_name"], row["trades"], row["total_pnl"], row["profit_factor"]) == (
        "api-tr-beta",
        "1",
        "140.09925000",
        "",
    )
    trail = audit_trail(desk.db, actor="api-tr-viewer", action="export.csv")
    assert [entry.target for entry in trail] == ["trade", "trade_performance"]
    for bad in (
        "from=2024-13-01",
        "bot=x",
        "status=maybe",
        "colour=red",
        "from=2024-05-02&to=2024-05-01",
    ):
        refused = client.get(f"{desk.base}/export/trade.csv?{bad}", timeout=30)
        assert refused.status_code == 400, bad
        assert refused.text.startswith(("bad filter:", "unknown parameter")), refused.text
