"""The backtests page on a real desk: a trader queues a run (a command for the engine), the
engine's own code runs it, the page shows its progress, figures, trades and comparison;
bad input is explained and queues nothing; a viewer may look but not run."""

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from sqlmodel import col, func, select

from botdesk.db.models import BacktestRun, Command
from botdesk.engine.backtest.runs import execute_stored_run
from tests.desk import dependencies, first_output, registered_body, render
from tests.processes import wait_until
from tests.rows import audit_trail

pytestmark = pytest.mark.integration

PARAM = "backtests-param"
FORM = {
    "backtests-strategy.value": "ema_cross",
    "backtests-symbol.value": "ETHUSDT",
    "backtests-timeframe.value": "15m",
    "backtests-source.value": "sample",
    "backtests-from.value": "2024-10-28",
    "backtests-to.value": "2024-11-01",
    "backtests-fee.value": 0.1,
    "backtests-slippage.value": 2,
    "backtests-capital.value": 10000,
}


class Page:
    """One signed-in client on the backtests page, calling its callbacks as the browser."""

    def __init__(self, desk, username: str, role: str):
        self.desk = desk
        self.client = desk.signed_in(username, role)
        self.callbacks = {
            first_output(dep["output"]): dep for dep in dependencies(self.client, desk.base)
        }

    def post(self, callback: str, values: dict, params: dict | None = None, changed=None):
        body = registered_body(self.callbacks[callback], values, changed=changed)
        if params is not None:  # the pattern-matching parameter inputs, as the renderer sends
            for index, item in enumerate(self.callbacks[callback]["state"]):
                if item["id"].startswith("{"):
                    body["state"][index] = [
                        {"id": {"name": name, "type": PARAM}, "property": item["property"]}
                        | ({"value": value} if item["property"] == "value" else {})
                        for name, value in params.items()
                    ]
                    if item["property"] == "id":
                        for entry in body["state"][index]:
                            entry["value"] = entry["id"]
        return self.desk_post(body)

    def desk_post(self, body):
        return self.client.post(f"{self.desk.base}/_dash-update-component", json=body, timeout=60)

    def answer(self, callback: str, values: dict, **options) -> dict:
        response = self.post(callback, values, **options)
        assert response.status_code == 200, response.text[:500]
        return response.json()["response"]

    def run(self, params: dict, **form):
        values = {**FORM, **{f"backtests-{k}.value": v for k, v in form.items()}}
        values["backtests-run.n_clicks"] = 1
        return self.post(
            "backtests-run-result.children",
            values,
            params=params,
            changed=["backtests-run.n_clicks"],
        )


@pytest.fixture(scope="module")
def trader(desk):
    return Page(desk, "bt-trader", "trader")


@pytest.fixture(scope="module")
def viewer(desk):
    return Page(desk, "bt-viewer", "viewer")


def commands_issued(db) -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(Command)).one()


def queue(desk, page, params, **form) -> int:
    response = page.run(params, **form)
    assert response.status_code == 200, response.text[:500]
    answer = response.json()["response"]
    assert "Queued backtest" in str(answer["backtests-run-result"])
    return answer["backtests-queued-run"]["data"]


def test_a_trader_queues_a_run_and_the_page_follows_it_to_the_figures(desk, trader):
    run_id = queue(desk, trader, {"fast": 5, "slow": 30, "stop_atr": 1.5})
    with desk.db.reading() as session:
        row = session.get(BacktestRun, run_id)
        command = session.exec(select(Command).where(col(Command.kind) == "backtest.run")).one()
    assert (row.status, row.symbol, row.timeframe, row.data_source) == (
        "queued",
        "ETHUSDT",
        "15m",
        "sample",
    )
    assert json.loads(row.params) == {"fast": 5, "slow": 30, "stop_atr": 1.5}
    assert (row.fee_rate, row.slippage_bps) == (Decimal("0.001"), Decimal(2))
    assert command.target == f"backtest_run:{run_id}" and command.issued_by == "bt-trader"
    assert [a.target for a in audit_trail(desk.db, "bt-trader", "command.backtest.run")] == [
        f"backtest_run:{run_id}"
    ]

    progress = trader.answer(
        "backtests-progress.children", {"backtests-show.value": run_id}, changed=None
    )
    assert "queued: waiting for the engine" in str(progress["backtests-progress"])

    with desk.db.writing() as session:  # what the engine's handler writes while it runs
        row = session.get(BacktestRun, run_id)
        row.status, row.progress = "running", 0.42
        session.add(row)
    progress = trader.answer("backtests-progress.children", {"backtests-show.value": run_id})
    assert "'value': 42" in str(progress["backtests-progress"]) and "42 %" in str(progress)

    with desk.db.writing() as session:
        session.get(BacktestRun, run_id).status = "queued"
    execute_stored_run(desk.db, run_id)  # the engine's own code for backtest.run
    progress = trader.answer("backtests-progress.children", {"backtests-show.value": run_id})
    status = progress["backtests-status"]["data"]
    assert status == f"{run_id}:done"
    result = str(trader.answer("backtests-result.children", {"backtests-status.data": status}))
    with desk.db.reading() as session:
        done = session.get(BacktestRun, run_id)
    assert f"{done.total_return * 100:+.2f} %" in result
    assert f"{done.max_drawdown * 100:.2f} %" in result and "Sharpe" in result
    assert f"{done.trades} trades" in result and "USDT" in result
    # the report's additions, kept with the run
    for part in (
        "backtests-buy-and-hold",
        "backtests-price-chart",
        "backtests-by-exit",
        "backtests-by-entry",
        "backtests-monthly",
    ):
        assert part in result
    assert "Buy and hold on the same candles" in result


def test_bad_parameters_are_explained_and_nothing_is_queued(desk, trader):
    before = commands_issued(desk.db)
    response = trader.run({"fast": 30, "slow": 10, "stop_atr": 2})
    assert "Not queued. fast: fast must be below slow" in response.text
    response = trader.run({"fast": 1, "slow": 10, "stop_atr": 2})
    assert "Not queued. fast:" in response.text and "greater than or equal to 2" in response.text
    response = trader.run({"fast": 9, "slow": 21, "stop_atr": 2}, fee=-1)
    assert "Not queued. fee: must be between 0 and 10" in response.text
    response = trader.run(
        {"fast": 9, "slow": 21, "stop_atr": 2}, **{"from": "2023-01-01", "to": "2023-02-01"}
    )
    assert "the ETHUSDT data runs from 2024-10-28 to 2024-11-03 (UTC)" in response.text
    response = trader.run({"fast": 9, "slow": 21, "stop_atr": 2}, symbol="DOGEUSDT")
    assert "Not queued. symbol: no bundled sample" in response.text
    assert commands_issued(desk.db) == before


@pytest.mark.parametrize(
    ("params", "form", "message"),
    [
        ({"fast": "9.5", "slow": "21"}, {}, "fast: Input should be a valid integer"),
        ({"fast": "-3", "slow": "21"}, {}, "fast: Input should be greater than or equal to 2"),
        ({"fast": "9", "slow": "99999999999999999999"}, {}, "slow: Input should be less than"),
        ({}, {"fee": "abc"}, "fee: 'abc' is not a number"),
        ({}, {"fee": "1e40"}, "fee: must be between 0 and 10, not 1e40"),
        ({}, {"fee": "0.0000001"}, "fee: at most 6 decimals"),
        ({}, {"slippage": "1.005"}, "slippage: at most 2 decimals"),
        ({}, {"capital": "1e30"}, "capital: must be between 10 and 1000000000, not 1e30"),
        ({}, {"capital": "12.345"}, "capital: at most 2 decimals"),
    ],
)
def test_what_was_typed_is_checked_as_typed(desk, trader, params, form, message):
    """The form's inputs are text: the server gets the typed text and says what is wrong
    with it (a browser's number input would have sent nothing, and the run the default)."""
    before = commands_issued(desk.db)
    response = trader.run(params, **form)
    assert f"Not queued. {message}" in response.text, response.text[:400]
    assert commands_issued(desk.db) == before


def test_typed_text_within_bounds_queues_the_run_as_typed(desk, trader):
    run_id = queue(
        desk,
        trader,
        {"fast": " 7 ", "slow": "30", "stop_atr": "0.5"},
        fee="0.075",
        slippage="2.5",
        capital="2500.50",
    )
    with desk.db.reading() as session:
        row = session.get(BacktestRun, run_id)
    assert json.loads(row.params) == {"fast": 7, "slow": 30, "stop_atr": 0.5}
    assert (row.fee_rate, row.slippage_bps) == (Decimal("0.00075"), Decimal("2.5"))


def test_a_viewer_sees_runs_but_cannot_start_one(desk, viewer, trader):
    before = commands_issued(desk.db)
    response = viewer.run({"fast": 9, "slow": 21, "stop_atr": 2})
    assert response.status_code == 403
    assert commands_issued(desk.db) == before
    assert audit_trail(desk.db, "bt-viewer", "access.refused")
    runs = viewer.answer("backtests-runs.children", {})
    assert "ema_cross" in str(runs["backtests-runs"])


def test_a_viewer_sees_run_backtest_disabled_and_why(desk, viewer, trader):
    """Issue 14 item 19: the button was live for a viewer and a click did nothing visible."""
    page = render(viewer.client, desk.base, "/backtests")
    why = "Running a backtest needs the trader role"
    assert '"disabled":true' in page.replace(" ", "") and why in page
    assert "backtests-run-why" in page
    trader_page = render(trader.client, desk.base, "/backtests")
    assert why not in trader_page and '"disabled":true' not in trader_page.replace(" ", "")


def test_two_runs_compared_side_by_side(desk, trader, viewer):
    first = queue(desk, trader, {"fast": 9, "slow": 21, "stop_atr": 0})
    second = queue(desk, trader, {"fast": 12, "slow": 50, "stop_atr": 2})
    for run_id in (first, second):
        execute_stored_run(desk.db, run_id)
    answer = viewer.answer(
        "backtests-compare.children", {"backtests-compare-ids.value": [first, second]}
    )
    text = str(answer["backtests-compare"])
    assert f"#{first} ema_cross" in text and f"#{second} ema_cross" in text
    assert "Max drawdown" in text and "Profit factor" in text
    graph = next(
        c
        for c in answer["backtests-compare"]["children"]["props"]["children"]
        if c["type"] == "Graph"
    )
    assert len(graph["props"]["figure"]["data"]) == 2
    too_many = viewer.answer(
        "backtests-compare.children", {"backtests-compare-ids.value": [1, 2, 3, 4, 5]}
    )
    assert "at most 4 runs" in str(too_many)


def test_trades_and_runs_export_as_csv_and_are_audited(desk, trader, viewer):
    run_id = queue(desk, trader, {"fast": 5, "slow": 20, "stop_atr": 1})
    execute_stored_run(desk.db, run_id)
    with desk.db.reading() as session:
        row = session.get(BacktestRun, run_id)
    stored = json.loads(row.trade_list)
    assert stored, "the sample should give this strategy some trades"
    answer = viewer.answer(
        "backtests-trades-download.data",
        {"backtests-trades-export.n_clicks": 1, "backtests-show.value": run_id},
    )
    download = answer["backtests-trades-download"]["data"]
    # named and written as every other export (issue 14 item 26)
    assert re.fullmatch(
        rf"backtest_run-{run_id}-trades-\d{{4}}-\d\d-\d\dT\d{{4}}Z\.csv", download["filename"]
    )
    rows = list(csv.DictReader(io.StringIO(download["content"])))
    assert [Decimal(r["pnl_usdt"]) for r in rows] == [Decimal(t["pnl"]) for t in stored]
    assert rows[0]["entry_time"].endswith("+00:00")
    money = [r[c] for r in rows for c in ("entry_price", "quantity", "fees_usdt", "pnl_usdt")]
    assert all(re.fullmatch(r"-?\d+\.\d{8}", text) for text in money), money[:8]

    # the runs table is the backtest_run table's export: exact money, rounded figures
    page = render(viewer.client, desk.base, "/backtests")
    assert '"href":"/export/backtest_run.csv"' in page
    export = viewer.client.get(f"{desk.base}/export/backtest_run.csv", timeout=30)
    assert export.status_code == 200 and "0E-8" not in export.text
    assert re.search(
        r'filename="backtest_run-\d{4}-\d\d-\d\dT\d{4}Z\.csv"',
        export.headers["content-disposition"],
    )
    runs = {r["id"]: r for r in csv.DictReader(io.StringIO(export.text))}
    mine = runs[str(run_id)]
    for figure in ("win_rate", "total_return", "max_drawdown", "sharpe"):
        if mine[figure]:
            assert len(mine[figure].split(".")[-1]) <= 6, (figure, mine[figure])
    assert re.fullmatch(r"\d+\.\d{8}", mine["fees_paid"])
    assert {a.action for a in audit_trail(desk.db, "bt-viewer")} >= {
        "export.backtest_trades",
        "export.csv",
    }


def test_the_form_fields_come_from_the_strategys_model(desk, viewer):
    answer = viewer.answer(
        "backtests-params.children", {"backtests-strategy.value": "rsi_reversion"}
    )
    text = json.dumps(answer, ensure_ascii=False)
    for name in ("period", "oversold", "overbought", "stop_atr"):
        assert f'"name": "{name}"' in text
    assert "RSI period, in candles." in text and "≥ 2" in text
    hint = viewer.answer(
        "backtests-range-hint.children",
        {"backtests-source.value": "sample", "backtests-symbol.value": "SOLUSDT"},
    )
    assert "SOLUSDT data runs from 2024-10-28 00:00" in hint["backtests-range-hint"]["children"]
    stored = viewer.answer(
        "backtests-range-hint.children",
        {"backtests-source.value": "candles", "backtests-symbol.value": None},
    )
    assert "No candles are stored yet" in stored["backtests-range-hint"]["children"]


def test_a_real_engine_runs_the_queued_backtest_and_the_page_shows_it(desk, trader, processes):
    """The whole path: the desk queues, an engine process claims backtest.run, runs it in
    the background writing its progress, and the page shows the finished run."""
    run_id = queue(desk, trader, {"fast": 8, "slow": 34, "stop_atr": 1}, timeframe="5m")
    engine = processes.start(["engine"], desk.env)
    seen = []

    def finished():
        answer = trader.answer("backtests-progress.children", {"backtests-show.value": run_id})
        seen.append(str(answer.get("backtests-progress", "")))
        status = answer.get("backtests-status", {}).get("data")
        return status if status == f"{run_id}:done" else None

    status = wait_until(finished, timeout=120, interval=0.2, message="the backtest done")
    result = str(trader.answer("backtests-result.children", {"backtests-status.data": status}))
    assert "Backtest #" in result and "Max drawdown".upper() in result.upper()
    with desk.db.reading() as session:
        row = session.get(BacktestRun, run_id)
        command = session.exec(
            select(Command).where(Command.target == f"backtest_run:{run_id}")
        ).one()
    assert (row.status, row.progress, command.status) == ("done", 1.0, "done")
    assert row.candles and row.candles > 1000  # a week of 5m candles
    assert any("queued" in text or "running" in text for text in seen)
    assert engine.stop() == 0


def test_a_run_is_sized_with_the_desks_limits_by_default_and_says_so(desk, trader):
    from botdesk.db import risk_limits

    with desk.db.writing() as session:
        for kind, value in (("risk_per_trade", "0.25"), ("max_position_notional", "3000")):
            risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="t")
    risk_run = queue(desk, trader, {"fast": 5, "slow": 20, "stop_atr": 1})
    cash_run = queue(desk, trader, {"fast": 5, "slow": 20, "stop_atr": 1}, sizing="all-cash")
    with desk.db.writing() as session:  # later changes do not touch queued runs
        risk_limits.set_limit(
            session=session, kind="risk_per_trade", value="2", bot_id=None, by="t"
        )
    with desk.db.reading() as session:
        rows = {run_id: session.get(BacktestRun, run_id) for run_id in (risk_run, cash_run)}
    assert (rows[risk_run].sizing, rows[risk_run].risk_per_trade) == ("risk", Decimal("0.25"))
    assert rows[risk_run].max_position_notional == Decimal(3000)
    assert (rows[cash_run].sizing, rows[cash_run].risk_per_trade) == ("all-cash", None)
    for run_id in (risk_run, cash_run):
        execute_stored_run(desk.db, run_id)
    shown = str(
        trader.answer("backtests-result.children", {"backtests-status.data": f"{risk_run}:done"})
    )
    assert (
        "Sizing: Risk: as a live bot, 0.25 % of capital at risk per trade, positions up to "
        "3000 USDT, within the cash." in shown
    )
    shown = str(
        trader.answer("backtests-result.children", {"backtests-status.data": f"{cash_run}:done"})
    )
    assert "Sizing: All cash: each entry spends the cash" in shown
    with desk.db.reading() as session:
        rows = {run_id: session.get(BacktestRun, run_id) for run_id in (risk_run, cash_run)}
    risk_trades = json.loads(rows[risk_run].trade_list)
    cash_trades = json.loads(rows[cash_run].trade_list)
    assert [t["entry_time_ms"] for t in risk_trades] == [t["entry_time_ms"] for t in cash_trades]
    assert all(
        Decimal(r["quantity"]) < Decimal(c["quantity"])
        for r, c in zip(risk_trades, cash_trades, strict=True)
    )
    refused = trader.run({"fast": 5, "slow": 20, "stop_atr": 1}, sizing="kelly")
    assert "Not queued. sizing: choose one of risk, all-cash" in refused.text
