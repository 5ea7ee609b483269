"""Backtest equity figures: plain dicts in plotly's dark theme on the page's background, one
run's equity in USDT or several runs' returns in percent, at UTC times plotly.js reads."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import plotly.graph_objects as go

from botdesk.app.backtest_views import equity_figure
from botdesk.app.components import PLOT_TEMPLATE
from botdesk.db.models import BacktestRun

START = datetime(2024, 10, 28, tzinfo=UTC)
HOUR = timedelta(hours=1)


def run(ident: int, equity: list[float]) -> BacktestRun:
    points = [[int((START + i * HOUR).timestamp() * 1000), value] for i, value in enumerate(equity)]
    return BacktestRun(
        id=ident,
        strategy="ema_cross",
        params='{"fast": 9}',
        symbol="BTCUSDT",
        timeframe="1h",
        initial_capital=Decimal(10_000),
        equity_curve=json.dumps(points),
    )


def test_one_runs_equity_in_usdt_on_the_pages_background():
    figure = equity_figure([run(1, [10_000.0, 10_250.5, 9_900.0])], relative=False)
    (curve,) = figure["data"]
    assert curve["x"] == ["2024-10-28 00:00:00", "2024-10-28 01:00:00", "2024-10-28 02:00:00"]
    assert curve["y"] == [10_000.0, 10_250.5, 9_900.0]
    layout = figure["layout"]
    assert layout["template"] is PLOT_TEMPLATE  # dark, on the page's own background
    assert PLOT_TEMPLATE["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
    assert layout["yaxis"]["title"]["text"] == "equity (USDT)" and layout["showlegend"] is False
    assert go.Figure(figure).layout.xaxis.type == "date"  # valid to plotly itself


def test_runs_compared_as_returns_in_percent_with_a_legend():
    figure = equity_figure(
        [run(1, [10_000.0, 11_000.0]), run(2, [10_000.0, 9_500.0])], relative=True
    )
    first, second = figure["data"]
    assert first["y"] == [0.0, 10.0] and second["y"] == [0.0, -5.0]
    assert first["name"] == "#1 ema_cross BTCUSDT 1h (fast=9)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "return (%)"
    assert figure["layout"]["showlegend"] is True
