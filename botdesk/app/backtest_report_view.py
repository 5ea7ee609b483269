"""The backtest report's additions on the desk: buy-and-hold beside the strategy, the
trades by exit reason and by entry signal, the monthly returns, and the trades marked on
the price (from `backtest_run.report`, see botdesk.engine.research.report)."""

import json

import plotly.graph_objects as go
from dash import dcc, html

from botdesk.app.backtest_views import UNIT, percent, when
from botdesk.app.components import PLOT_TEMPLATE, small_table
from botdesk.db.models import BacktestRun


def report_section(run: BacktestRun) -> list:
    if not run.report:
        return []
    found = json.loads(run.report)
    hold = found["buy_and_hold"]
    beat = (run.total_return or 0) - hold["total_return"]
    parts = [
        html.H3("Report", className="h6 mt-3"),
        html.P(
            f"Buy and hold on the same candles: {percent(hold['total_return'])} (max drawdown "
            f"{percent(hold['max_drawdown'], sign=False)}, final equity "
            f"{float(hold['final_equity']):,.2f} {UNIT}); the strategy "
            f"{'beat' if beat > 0 else 'trailed'} it by {percent(abs(beat), sign=False)}. "
            f"Sizing: {found['sizing']}.",
            id="backtests-buy-and-hold",
            className="small",
        ),
        dcc.Graph(
            figure=_price_chart(found), id="backtests-price-chart", config={"displaylogo": False}
        ),
    ]
    for title, key, ident in (
        ("By exit reason", "by_exit_reason", "backtests-by-exit"),
        ("By entry signal", "by_entry_signal", "backtests-by-entry"),
    ):
        rows = [
            [
                r["key"],
                r["trades"],
                f"{r['win_rate']:.0%}",
                f"{float(r['pnl']):+,.2f}",
                percent(r["mean_return"]),
            ]
            for r in found[key]
        ]
        header = [title.split()[-1], "trades", "won", f"P&L ({UNIT})", "mean return"]
        parts += [
            html.H4(title, className="small fw-bold mt-2"),
            small_table(header, rows, numeric={1, 2, 3, 4}, id=ident),
        ]
    months = [[m["month"], percent(m["return"])] for m in found["monthly"]]
    parts += [
        html.H4("Monthly returns", className="small fw-bold mt-2"),
        small_table(["month", "return"], months, numeric={1}, id="backtests-monthly"),
    ]
    return parts


def _price_chart(found: dict) -> go.Figure:
    closes = found["closes"]
    marks = found["marks"]
    figure = go.Figure(
        go.Scatter(
            x=[when(ms) for ms, _ in closes],
            y=[p for _, p in closes],
            name="close",
            line={"width": 1},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[when(m["entry_ms"]) for m in marks],
            y=[float(m["entry_price"]) for m in marks],
            mode="markers",
            name="entry",
            marker={"symbol": "triangle-up", "size": 9},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[when(m["exit_ms"]) for m in marks],
            y=[float(m["exit_price"]) for m in marks],
            mode="markers",
            name="exit",
            text=[m["exit_reason"] for m in marks],
            marker={"symbol": "triangle-down", "size": 9},
        )
    )
    shown = (
        ""
        if found["trades_marked"] == found["trades"]
        else (f" (first {found['trades_marked']} of {found['trades']} trades)")
    )
    figure.update_layout(
        template=PLOT_TEMPLATE,
        height=340,
        margin={"t": 40, "b": 30},
        title=f"Trades on the price{shown}",
    )
    return figure
