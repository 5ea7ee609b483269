"""The backtest report's additions: buy-and-hold exact on the same candles, breakdowns
that add up to the trades, monthly returns that compound to the total, stored with the run
and shown on the desk."""

import json
import math
from decimal import ROUND_DOWN, Decimal

import pytest

from botdesk.app.backtest_report_view import report_section
from botdesk.engine.backtest.runs import BacktestRequest, new_run, run_backtest, store_report
from botdesk.engine.frames import to_decimal
from botdesk.engine.research.report import additions

REQUEST = BacktestRequest("ema_cross", {"stop_atr": 1.5}, "BTCUSDT", "5m", "sample")


def test_buy_and_hold_spends_the_capital_at_the_first_open_and_sells_at_the_last_close():
    report = run_backtest(REQUEST)
    hold = additions(report)["buy_and_hold"]
    first, last = to_decimal(report.candles.open[0]), to_decimal(report.candles.close[-1])
    fee = Decimal("0.001")
    quantity = (Decimal(10000) / (first * (1 + fee))).quantize(Decimal("1e-8"), ROUND_DOWN)
    assert Decimal(hold["quantity"]) == quantity
    spent = (first * quantity).quantize(Decimal("1e-8")) + (first * quantity * fee).quantize(
        Decimal("1e-8")
    )
    sold = last * quantity
    final = 10000 - spent + sold.quantize(Decimal("1e-8")) - (sold * fee).quantize(Decimal("1e-8"))
    assert Decimal(hold["final_equity"]) == final
    assert 0 < hold["max_drawdown"] < 1
    assert hold["curve"][-1][0] == int(report.candles.open_time_ms[-1])


def test_breakdowns_add_up_to_the_trades_and_months_compound_to_the_total():
    report = run_backtest(REQUEST)
    found = additions(report)
    trades = report.simulation.trades
    for key in ("by_exit_reason", "by_entry_signal"):
        rows = found[key]
        assert sum(row["trades"] for row in rows) == len(trades)
        assert sum(Decimal(row["pnl"]) for row in rows) == sum(t.pnl for t in trades)
    reasons = {row["key"]: row["trades"] for row in found["by_exit_reason"]}
    assert reasons == {
        reason: sum(1 for t in trades if t.exit_reason == reason)
        for reason in {t.exit_reason for t in trades}
    }
    assert [row["key"] for row in found["by_entry_signal"]] == ["EMA 9 crossed above EMA 21"]
    months = found["monthly"]
    assert [m["month"] for m in months] == ["2024-10", "2024-11"]  # the sample's week
    compounded = math.prod(1 + m["return"] for m in months) - 1
    assert compounded == pytest.approx(report.metrics.total_return, rel=1e-9)
    assert len(found["marks"]) == len(trades)
    assert found["sizing"].startswith("all cash")


def test_the_run_keeps_the_report_and_the_desk_shows_it():
    report = run_backtest(REQUEST)
    run = new_run(REQUEST, created_by="alice")
    store_report(run, report)
    run.id = 1
    kept = json.loads(run.report)
    assert kept["by_exit_reason"] == additions(report)["by_exit_reason"]
    shown = json.dumps([part.to_plotly_json() for part in report_section(run)], default=str)
    for part in (
        "backtests-buy-and-hold",
        "backtests-price-chart",
        "backtests-by-exit",
        "backtests-by-entry",
        "backtests-monthly",
        "Buy and hold on the same candles",
    ):
        assert part in shown
