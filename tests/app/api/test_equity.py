"""The equity API through a real desk: `portfolio=true` is the desk's series summed from
its bots' snapshots (it answered an empty list before), with capital flows apart from
P&L; `/capital-flows` lists the flows; `/performance` gives a bot's or the desk's
time-weighted return and drawdown."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from botdesk.db import capital_flows
from botdesk.db.models import Bot, EquitySnapshot
from tests.factories import make_api_key, make_bot, make_user

pytestmark = pytest.mark.integration
D = Decimal
DAY = datetime(2024, 10, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
WINDOW = "since=2024-10-30T00:00:00Z&until=2024-10-30T01:00:00Z&limit=60"  # 1-minute buckets


def snapshot(bot_id: int, minute: int, equity: str) -> EquitySnapshot:
    at = DAY + minute * MINUTE
    return EquitySnapshot(
        bot_id=bot_id,
        at=at,
        candle_open_ms=int(at.timestamp() * 1000),
        equity=D(equity),
        cash=D(equity),
    )


@pytest.fixture(scope="module")
def world(desk):
    db = desk.db
    key = make_api_key(db, make_user(db, role="viewer"), "read")
    alpha, beta = make_bot(db, name="api-eq-alpha"), make_bot(db, name="api-eq-beta")
    with db.writing() as session:
        for minute in range(10):
            session.add(snapshot(alpha.id, minute, str(10000 - minute)))  # loses 1 a minute
            if minute % 2 == 0:  # beta writes every other minute: carried between
                session.add(snapshot(beta.id, minute, "5000"))
    with db.writing() as session:  # 2,500 more for beta after minute 9
        bot = session.get(Bot, beta.id)
        before, bot.capital = bot.capital, D("12500")
        capital_flows.capital_changed(session=session, bot=bot, before=before, actor="admin")
    with db.writing() as session:
        session.add(snapshot(alpha.id, 10, "9990"))
        session.add(snapshot(beta.id, 10, "7500"))
    return key, alpha, beta


def test_the_portfolio_series_is_the_sum_of_the_bots(desk, world):
    key, alpha, beta = world
    answer = desk.call("GET", f"/api/v1/equity?portfolio=true&{WINDOW}", key)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    items = body["items"]
    # the opening (each bot's oldest), then each 1-minute bucket's newest at its end
    assert body["next_cursor"] is None and len(items) == 12
    per_bot = []
    for bot in (alpha, beta):
        rows = desk.call("GET", f"/api/v1/equity?bot_id={bot.id}&limit=100", key).json()["items"]
        per_bot.append({datetime.fromisoformat(row["at"]): D(row["equity"]) for row in rows})
    first = datetime.fromisoformat(items[0]["at"])
    for item in items:  # oldest first; each bot's newest equity before the time, carried
        at = datetime.fromisoformat(item["at"])
        newest = [
            snapshots[max(t for t in snapshots if t < at or t == first)] for snapshots in per_bot
        ]
        assert D(item["equity"]) == sum(newest), item["at"]
        assert item["bot_id"] is None
    last = items[-1]
    assert (last["equity"], last["flow"], last["pnl"]) == (
        "17490.00000000",
        "2500.00000000",
        "-1.00000000",
    )
    # the 2,500 is a flow, never a gain: alpha's -9 on 15,000, then its -1 on 17,491
    assert items[10]["return"] == "-0.00060000"
    assert last["return"] == "-0.00065714" and last["drawdown"] == "-0.00065714"


def test_one_bots_series_as_csv_and_an_empty_window(desk, world):
    key, _, beta = world
    answer = desk.call("GET", f"/api/v1/equity?portfolio=true&bot_id={beta.id}&{WINDOW}", key)
    items = answer.json()["items"]
    assert [item["equity"] for item in items] == ["5000.00000000"] * 6 + ["7500.00000000"]
    assert {item["bot_id"] for item in items} == {beta.id}
    assert [item["return"] for item in items] == ["0.00000000"] * 7  # the 2,500 is no gain
    answer = desk.call("GET", f"/api/v1/equity?portfolio=true&format=csv&{WINDOW}", key)
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 12 and rows[-1]["equity"] == "17490.00000000"
    assert rows[-1]["flow"] == "2500.00000000" and rows[-1]["bot_id"] == ""
    empty = "since=2024-10-30T01:00:00Z&until=2024-10-30T00:00:00Z"
    answer = desk.call("GET", f"/api/v1/equity?portfolio=true&{empty}", key)
    assert answer.status_code == 200 and answer.json()["items"] == []


def test_capital_flows_and_performance(desk, world):
    key, _, beta = world
    flows = desk.call("GET", "/api/v1/capital-flows?kind=changed", key)
    assert flows.status_code == 200, flows.text
    (flow,) = [item for item in flows.json()["items"] if item["bot_id"] == beta.id]
    assert (flow["amount"], flow["kind"], flow["actor"]) == ("2500.00000000", "changed", "admin")
    assert flow["at"] == (DAY + 9 * MINUTE).isoformat()  # the market's clock then
    assert desk.call("GET", "/api/v1/capital-flows", None).status_code == 401
    found = desk.call("GET", f"/api/v1/performance?bot_id={beta.id}&{WINDOW[:-9]}", key).json()
    assert found["return"] == "0.00000000" and found["net_flows"] == "2500.00000000"
    assert found["equity"] == "7500.00000000" and found["pnl"] == "0.00000000"
    desk_wide = desk.call("GET", f"/api/v1/performance?{WINDOW[:-9]}", key).json()
    assert desk_wide["equity"] == "17490.00000000" and desk_wide["pnl"] == "-10.00000000"
    assert desk_wide["return"] == "-0.00065714" and desk_wide["net_flows"] == "2500.00000000"
