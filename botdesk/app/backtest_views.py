"""How the desk shows backtest runs: figures with units, the equity curve, the trades, the
runs table, the side-by-side comparison, and the rows of their CSV exports."""

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import dash_bootstrap_components as dbc
from dash import dcc, html

from botdesk.app.backtest_form import SOURCE_NAMES
from botdesk.app.components import PLOT_TEMPLATE, format_time, outcome_alert, stat_card
from botdesk.db import backtest_runs
from botdesk.db.models import BacktestRun

UNIT = "USDT"
SHOWN_TRADES = 200
STATUS_COLORS = {"queued": "secondary", "running": "info", "done": "success", "failed": "danger"}


def when(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None, places: int = 2, sign: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value * 100:{'+' if sign else ''}.{places}f} %"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def params_text(run: BacktestRun) -> str:
    return ", ".join(f"{k}={v}" for k, v in json.loads(run.params or "{}").items())


def run_label(run: BacktestRun) -> str:
    return f"#{run.id} {run.strategy} {run.symbol} {run.timeframe} ({params_text(run)})"


def progress_bar(run: BacktestRun | None, command_status: str | None) -> list:
    if run is None:
        return []
    if run.status == "queued":
        waiting = "waiting for the engine to pick it up"
        if command_status == "failed":
            waiting = "the engine refused the command"
        return [
            dbc.Progress(value=0, striped=True, animated=True, className="mb-1"),
            html.Small(f"Backtest #{run.id} queued: {waiting}.", className="text-secondary"),
        ]
    if run.status == "running":
        share = round(run.progress * 100)
        return [
            dbc.Progress(
                value=share, label=f"{share} %", striped=True, animated=True, className="mb-1"
            ),
            html.Small(
                f"Backtest #{run.id} running since {format_time(run.started_at)}.",
                className="text-secondary",
            ),
        ]
    if run.status == "failed":
        return [outcome_alert(f"Backtest #{run.id} failed: {run.error}", ok=False)]
    return []


def metric_cards(run: BacktestRun) -> dbc.Row:
    cards = [
        stat_card(
            "Return", percent(run.total_return), f"final equity {run.final_equity:,.2f} {UNIT}"
        ),
        stat_card(
            "Max drawdown", percent(run.max_drawdown, sign=False), "from a peak, at candle closes"
        ),
        stat_card("Win rate", percent(run.win_rate, 1, sign=False), f"{run.trades} trades"),
        stat_card(
            "Profit factor",
            ratio(run.profit_factor),
            "gross profit / gross loss" if run.profit_factor is not None else "no losing trade",
        ),
        stat_card("Sharpe", ratio(run.sharpe), "annualised, per-candle returns"),
        stat_card("Fees paid", f"{run.fees_paid:,.2f} {UNIT}", f"{run.candles:,} candles"),
    ]
    return dbc.Row([dbc.Col(card, md=2) for card in cards], className="g-2 mb-3")


def plot_time(ms: int) -> str:
    """UTC time as plotly.js reads a date (it takes no zone suffix)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def equity_figure(runs: list[BacktestRun], relative: bool) -> dict:
    """One run's equity in quote, or several runs' returns in % overlaid."""
    traces = []
    for one in runs:
        points = backtest_runs.curve_of(one)
        start = float(one.initial_capital)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": run_label(one),
                "x": [plot_time(ms) for ms, _ in points],
                "y": [
                    round((equity / start - 1) * 100, 4) if relative else equity
                    for _, equity in points
                ],
            }
        )
    unit = "return (%)" if relative else f"equity ({UNIT})"
    layout = {
        "template": PLOT_TEMPLATE,
        "height": 340,
        "margin": {"l": 70, "r": 20, "t": 10, "b": 40},
        "yaxis": {"title": {"text": unit}},
        "xaxis": {"title": {"text": "UTC"}, "type": "date"},
        "legend": {"orientation": "h", "y": -0.2},
        "showlegend": relative,
    }
    return {"data": traces, "layout": layout}


def trades_table(run: BacktestRun) -> html.Div:
    trades = backtest_runs.trades_of(run)
    if not trades:
        return html.P("No trades: the strategy never entered over this data.", className="mb-0")
    header = [
        "entry (UTC)",
        "entry price",
        "exit (UTC)",
        "exit price",
        "quantity",
        f"fees ({UNIT})",
        f"P&L ({UNIT})",
        "exit reason",
    ]
    rows = [
        html.Tr(
            [
                html.Td(when(t.entry_time_ms)),
                html.Td(f"{t.entry_price:,.2f}", className="text-end"),
                html.Td(when(t.exit_time_ms) if t.exit_time_ms else "open"),
                html.Td(f"{t.exit_price:,.2f}" if t.exit_price else "—", className="text-end"),
                html.Td(f"{t.quantity:.6f}", className="text-end"),
                html.Td(f"{t.fees:,.2f}", className="text-end"),
                html.Td(
                    f"{t.pnl:+,.2f}",
                    className="text-end " + ("text-success" if t.pnl > 0 else "text-danger"),
                ),
                html.Td(t.exit_reason or ""),
            ]
        )
        for t in trades[:SHOWN_TRADES]
    ]
    note = f"{len(trades)} trades" + (
        f"; the first {SHOWN_TRADES} are shown, Export CSV has all"
        if len(trades) > SHOWN_TRADES
        else ""
    )
    return html.Div(
        [
            html.Div(note, className="small text-secondary mb-1"),
            dbc.Table(
                [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                size="sm",
                hover=True,
                responsive=True,
                className="mb-0 font-monospace small",
            ),
        ]
    )


def data_window(run: BacktestRun) -> str:
    source = SOURCE_NAMES.get(run.data_source, run.data_source)
    if run.from_ms is None and run.to_ms is None:
        return f"{run.symbol} {run.timeframe}, all of the {source}"
    start = f"{when(run.from_ms)} UTC" if run.from_ms else "its start"
    end = f"{when(run.to_ms)} UTC" if run.to_ms else "its end"
    return f"{run.symbol} {run.timeframe}, {source} from {start} to {end}"


def costs_text(run: BacktestRun) -> str:
    fee = f"{(run.fee_rate * 100).normalize():f} %"
    return f"fee {fee}, slippage {run.slippage_bps.normalize():f} bps"


def sizing_of(run: BacktestRun) -> str:
    text = backtest_runs.sizing_text(run.sizing, run.risk_per_trade, run.max_position_notional)
    return text[:1].upper() + text[1:]


def run_details(run: BacktestRun) -> html.Div:
    heading = f"Backtest #{run.id}: {run.strategy} on {data_window(run)}"
    costs = (
        f"parameters {params_text(run)} · {costs_text(run)} · "
        f"capital {run.initial_capital:,.2f} {UNIT}"
    )
    return html.Div(
        [
            html.H2(heading, className="h5"),
            html.Div(costs, className="small text-secondary mb-1"),
            html.Div(
                f"Sizing: {sizing_of(run)}.", id="backtests-sizing-used", className="small mb-2"
            ),
            metric_cards(run),
            dcc.Graph(figure=equity_figure([run], relative=False), config={"displaylogo": False}),
            trades_table(run),
        ],
        id="backtests-details",
    )


def runs_table(runs: list[BacktestRun]) -> dbc.Table | html.P:
    if not runs:
        return html.P(
            "No backtests yet: fill in the form above and press Run backtest.", className="mb-0"
        )
    header = [
        "#",
        "created (UTC)",
        "by",
        "strategy",
        "parameters",
        "symbol",
        "status",
        "return",
        "max DD",
        "trades",
        "win rate",
        "Sharpe",
    ]
    rows = [
        html.Tr(
            [
                html.Td(run.id),
                html.Td(format_time(run.created_at).removesuffix(" UTC"), className="text-nowrap"),
                html.Td(run.created_by or ""),
                html.Td(run.strategy),
                html.Td(params_text(run), className="small"),
                html.Td(f"{run.symbol} {run.timeframe}"),
                html.Td(
                    dbc.Badge(
                        run.status if run.status != "running" else f"running {run.progress:.0%}",
                        color=STATUS_COLORS.get(run.status, "secondary"),
                    )
                ),
                html.Td(percent(run.total_return), className="text-end"),
                html.Td(percent(run.max_drawdown, sign=False), className="text-end"),
                html.Td("—" if run.trades is None else run.trades, className="text-end"),
                html.Td(percent(run.win_rate, 1, sign=False), className="text-end"),
                html.Td(ratio(run.sharpe), className="text-end"),
            ]
        )
        for run in runs
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
    )


COMPARED = [
    ("Return", lambda r: percent(r.total_return)),
    ("Max drawdown", lambda r: percent(r.max_drawdown, sign=False)),
    ("Win rate", lambda r: percent(r.win_rate, 1, sign=False)),
    ("Profit factor", lambda r: ratio(r.profit_factor)),
    ("Sharpe (annualised)", lambda r: ratio(r.sharpe)),
    ("Trades", lambda r: str(r.trades)),
    (f"Fees paid ({UNIT})", lambda r: f"{r.fees_paid:,.2f}"),
    (f"Final equity ({UNIT})", lambda r: f"{r.final_equity:,.2f}"),
    ("Data", data_window),
    ("Costs", costs_text),
    ("Sizing", sizing_of),
]


def _csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def iso(ms: int | None) -> str:
    """A time as the desk's CSV writes it: 2024-10-28T09:15:00+00:00."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def exact(amount: Decimal | None) -> str:
    """Money as the desk's CSV writes it: exactly 8 decimals (never 0E-8)."""
    return "" if amount is None else f"{amount:.8f}"


def comparison(runs: list[BacktestRun]) -> html.Div:
    """The runs' figures side by side and their equity curves overlaid (as returns)."""
    header = html.Thead(
        html.Tr([html.Th("")] + [html.Th(run_label(run), className="small") for run in runs])
    )
    body = html.Tbody(
        [
            html.Tr([html.Th(name)] + [html.Td(value(run), className="text-end") for run in runs])
            for name, value in COMPARED
        ]
    )
    return html.Div(
        [
            dbc.Table(
                [header, body],
                size="sm",
                bordered=True,
                responsive=True,
                id="backtests-compare-table",
            ),
            dcc.Graph(figure=equity_figure(runs, relative=True), config={"displaylogo": False}),
        ]
    )


TRADE_COLUMNS = [
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "quantity",
    f"fees_{UNIT.lower()}",
    f"pnl_{UNIT.lower()}",
    "exit_reason",
]


def trades_csv(run: BacktestRun) -> tuple[str, int]:
    """The run's trades as CSV text in the desk's export format (money with 8 decimals,
    times ISO 8601 UTC) and how many."""
    trades = backtest_runs.trades_of(run)
    rows = [
        [
            iso(t.entry_time_ms),
            exact(t.entry_price),
            iso(t.exit_time_ms),
            exact(t.exit_price),
            exact(t.quantity),
            exact(t.fees),
            exact(t.pnl),
            t.exit_reason or "",
        ]
        for t in trades
    ]
    return _csv(TRADE_COLUMNS, rows), len(rows)
