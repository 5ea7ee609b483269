"""Backtests: queue a run for the engine (strategy, parameters, symbol, data range, costs),
watch its progress, read its figures, equity curve and trades, and compare runs side by
side. Exports: the runs table (`/export/backtest_run.csv`) and a run's trades as CSV, both
in the format of every desk export."""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app import backtest_form, exports
from botdesk.app.backtest_form import CANDLES, PARAM, SAMPLE, SOURCES, FormError
from botdesk.app.backtest_report_view import report_section
from botdesk.app.backtest_views import (
    UNIT,
    comparison,
    progress_bar,
    run_details,
    run_label,
    runs_table,
    trades_csv,
    when,
)
from botdesk.app.components import date_input, outcome_alert
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback
from botdesk.db import audit, backtest_runs, candles
from botdesk.db.backtest_runs import RISK, SIZINGS
from botdesk.db.models import BacktestRun, Role
from botdesk.engine.strategies import registry
from botdesk.engine.timeframes import TIMEFRAMES

dash.register_page(
    __name__, path="/backtests", name="Backtests", title="Backtests · botdesk", order=70
)

SHOWN_RUNS = 50
# Running a backtest moves no money and touches no bot, but it is still an action: it
# writes a command for the engine and spends the engine's CPU. DESIGN.md's viewer only
# looks and exports, so running one needs the trader role (checked on the server by the
# callback's guard); viewers see every run and its figures.
RUN_ROLE = Role.TRADER


# --- the form --------------------------------------------------------------------------


def run_button():
    """Run backtest; below RUN_ROLE disabled, saying why (its wrapper carries the tooltip:
    a disabled button shows none)."""
    if current_user.is_authenticated and current_user.allows(RUN_ROLE):
        return dbc.Button("Run backtest", id="backtests-run", color="primary")
    why = f"Running a backtest needs the {RUN_ROLE.value} role; you can read and export runs."
    return html.Div(
        [
            html.Span(
                dbc.Button("Run backtest", id="backtests-run", color="primary", disabled=True),
                title=why,
                className="d-inline-block",
            ),
            html.Div(why, className="small text-secondary", id="backtests-run-why"),
        ]
    )


def form() -> dbc.Card:
    def labelled(label, control, width, hint=None):
        parts = [dbc.Label(label, className="small mb-1"), control]
        if hint:
            parts.append(dbc.FormText(hint, className="small"))
        return dbc.Col(parts, md=width)

    strategies = sorted(registry.STRATEGIES)
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("New backtest", className="h5"),
                dbc.Row(
                    [
                        labelled(
                            "Strategy",
                            dbc.Select(
                                id="backtests-strategy",
                                options=[{"label": s, "value": s} for s in strategies],
                                value="ema_cross",
                            ),
                            3,
                        ),
                        labelled(
                            "Data",
                            dbc.Select(
                                id="backtests-source",
                                options=[{"label": v, "value": k} for k, v in SOURCES.items()],
                                value=SAMPLE,
                            ),
                            3,
                        ),
                        labelled("Symbol", dbc.Select(id="backtests-symbol", value="BTCUSDT"), 2),
                        labelled(
                            "Timeframe",
                            dbc.Select(
                                id="backtests-timeframe",
                                options=[{"label": t, "value": t} for t in TIMEFRAMES],
                                value="15m",
                            ),
                            2,
                        ),
                        labelled(
                            "Sizing",
                            dbc.Select(
                                id="backtests-sizing",
                                options=[{"label": v, "value": k} for k, v in SIZINGS.items()],
                                value=RISK,
                            ),
                            2,
                            "risk: risk_per_trade and max_position_notional as set on "
                            "Risk now (kept with the run)",
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(id="backtests-params", className="g-2 mb-2"),
                dbc.Row(
                    [
                        labelled("From (UTC)", date_input("backtests-from"), 2),
                        labelled("To (UTC)", date_input("backtests-to"), 2),
                        labelled(
                            "Fee (% of notional)",
                            dbc.Input(id="backtests-fee", value="0.1", inputmode="decimal"),
                            2,
                            "per fill; 0.1 % is Binance spot",
                        ),
                        labelled(
                            "Slippage (bps)",
                            dbc.Input(id="backtests-slippage", value="0", inputmode="decimal"),
                            2,
                            "1 bp = 0.01 % of the price",
                        ),
                        labelled(
                            f"Starting capital ({UNIT})",
                            dbc.Input(id="backtests-capital", value="10000", inputmode="decimal"),
                            2,
                        ),
                        dbc.Col(run_button(), md=2, className="align-self-center"),
                    ],
                    className="g-2 mb-2",
                ),
                html.Div(id="backtests-range-hint", className="small text-secondary mb-2"),
                html.Div(id="backtests-run-result"),
            ]
        ),
        className="mb-3",
    )


def symbols_for(source: str) -> dict[str, tuple[int, int]]:
    """Symbol -> first and last candle (ms) of the chosen data."""
    if source == CANDLES:
        with desk_db().reading() as session:
            spans = {
                symbol: backtest_runs.stored_span(session=session, symbol=symbol)
                for symbol in candles.symbols(session=session)
            }
        return {symbol: span for symbol, span in spans.items() if span}
    return backtest_form.sample_spans()


@guarded_callback(
    Output("backtests-params", "children"),
    Input("backtests-strategy", "value"),
    role=Role.VIEWER,
)
def show_params(strategy):
    if strategy not in registry.STRATEGIES:
        return dbc.Col(html.Span("Choose a strategy.", className="text-secondary"))
    return backtest_form.param_fields(strategy)


@guarded_callback(
    Output("backtests-range-hint", "children"),
    Output("backtests-symbol", "options"),
    Input("backtests-source", "value"),
    Input("backtests-symbol", "value"),
    role=Role.VIEWER,
)
def show_range(source, symbol):
    spans = symbols_for(source or SAMPLE)
    options = [{"label": s, "value": s} for s in sorted(spans)]
    if not spans:
        return (
            "No candles are stored yet: the engine stores them as bots run. "
            "Use the bundled sample meanwhile.",
            options,
        )
    span = spans.get(symbol)
    if span is None:
        return f"Choose a symbol: {', '.join(sorted(spans))}.", options
    first, last = backtest_form.utc_day_of(span[0]), backtest_form.utc_day_of(span[1])
    return (
        f"{symbol} data runs from {when(span[0])} to {when(span[1])} UTC; "
        f"leave From and To empty for all of it ({first} to {last}).",
        options,
    )


@guarded_callback(
    Output("backtests-run-result", "children"),
    Output("backtests-queued-run", "data"),
    Input("backtests-run", "n_clicks"),
    State("backtests-strategy", "value"),
    State({"type": PARAM, "name": ALL}, "value"),
    State({"type": PARAM, "name": ALL}, "id"),
    State("backtests-symbol", "value"),
    State("backtests-timeframe", "value"),
    State("backtests-source", "value"),
    State("backtests-from", "value"),
    State("backtests-to", "value"),
    State("backtests-fee", "value"),
    State("backtests-slippage", "value"),
    State("backtests-capital", "value"),
    State("backtests-sizing", "value"),
    role=RUN_ROLE,
)
def run(
    clicks, strategy, values, ids, symbol, timeframe, source, since, until, fee, slip, capital,
    sizing,
):  # fmt: skip
    if not clicks:
        raise PreventUpdate
    try:
        checked = backtest_form.parse(
            strategy=strategy,
            param_names=[item["name"] for item in ids or []],
            param_values=values or [],
            symbol=symbol,
            timeframe=timeframe,
            source=source,
            since=since,
            until=until,
            fee_percent=fee,
            slippage_bps=slip,
            capital=capital,
            span=symbols_for(source).get(symbol) if source in SOURCES else None,
            sizing=sizing,
        )
    except FormError as error:
        message = f"Not queued. {error}"
        return outcome_alert(message, ok=False, id="backtests-form-error"), dash.no_update
    with desk_db().writing() as session:
        queued, command = backtest_runs.queue(
            session=session,
            strategy=checked.strategy,
            params=checked.params,
            symbol=checked.symbol,
            timeframe=checked.timeframe,
            data_source=checked.data_source,
            from_ms=checked.from_ms,
            to_ms=checked.to_ms,
            fee_rate=checked.fee_rate,
            slippage_bps=checked.slippage_bps,
            capital=checked.capital,
            sizing=checked.sizing,
            issued_by=current_user.username,
            user_id=current_user.id,
            ip=request.remote_addr,
        )
    message = f"Queued backtest #{queued.id} (command #{command.id}); the engine runs it next."
    return outcome_alert(message, id="backtests-queued"), queued.id


# --- one run: progress, figures, curve, trades -----------------------------------------


@guarded_callback(
    Output("backtests-progress", "children"),
    Output("backtests-status", "data"),
    Input("backtests-show", "value"),
    Input("backtests-tick", "n_intervals"),
    State("backtests-status", "data"),
    role=Role.VIEWER,
)
def show_progress(run_id, _ticks, shown_status):
    if not run_id:
        return [], None
    with desk_db().reading() as session:
        one = session.get(BacktestRun, int(run_id))
        command = backtest_runs.command_for(session=session, run_id=int(run_id)) if one else None
    status = f"{run_id}:{one.status}" if one else None
    bar = progress_bar(one, command.status if command else None)
    return bar, (dash.no_update if status == shown_status else status)


@guarded_callback(
    Output("backtests-result", "children"),
    Input("backtests-status", "data"),
    role=Role.VIEWER,
)
def show_result(status):
    if not status:
        return html.P(
            "Choose a run above to see its figures, or queue a new backtest with the form.",
            className="text-secondary mb-0",
        )
    run_id, _, state = status.partition(":")
    if state != "done":
        return None
    with desk_db().reading() as session:
        one = session.get(BacktestRun, int(run_id))
    return html.Div([run_details(one), *report_section(one)]) if one else None


# --- all runs and the comparison ------------------------------------------------------


@guarded_callback(
    Output("backtests-runs", "children"),
    Output("backtests-show", "options"),
    Output("backtests-compare-ids", "options"),
    Output("backtests-show", "value"),
    Input("backtests-tick", "n_intervals"),
    Input("backtests-queued-run", "data"),
    role=Role.VIEWER,
)
def show_runs(_ticks, queued_id):
    """The runs; a run just queued is shown at once (its option and the choice of it go
    out together: the dropdown drops a value it has no option for)."""
    with desk_db().reading() as session:
        runs = backtest_runs.recent(session=session, limit=SHOWN_RUNS)
    options = [{"label": run_label(run), "value": run.id} for run in runs]
    done = [option for option, run in zip(options, runs, strict=True) if run.status == "done"]
    just_queued = dash.ctx.triggered_id == "backtests-queued-run" and queued_id
    return runs_table(runs), options, done, queued_id if just_queued else dash.no_update


@guarded_callback(
    Output("backtests-compare", "children"),
    Input("backtests-compare-ids", "value"),
    role=Role.VIEWER,
)
def compare(run_ids):
    chosen = [int(run_id) for run_id in run_ids or []]
    if len(chosen) < 2:
        return html.P(
            "Pick 2 to 4 finished runs to compare them side by side.",
            className="text-secondary mb-0",
        )
    if len(chosen) > 4:
        return outcome_alert("Compare at most 4 runs at a time; remove some.", ok=False)
    with desk_db().reading() as session:
        runs = [
            run for run in backtest_runs.by_ids(session=session, ids=chosen) if run.status == "done"
        ]
    if len(runs) < 2:
        return outcome_alert("Only finished runs can be compared.", ok=False)
    return comparison(runs)


# --- exports --------------------------------------------------------------------------


def _audit_export(what: str, rows: int, **details) -> None:
    with desk_db().writing() as session:
        audit.record(
            session=session,
            actor=current_user.username,
            user_id=current_user.id,
            action=f"export.{what}",
            target=what,
            ip=request.remote_addr,
            details={"rows": rows, **details},
        )


@guarded_callback(
    Output("backtests-trades-download", "data"),
    Input("backtests-trades-export", "n_clicks"),
    State("backtests-show", "value"),
    role=Role.VIEWER,
    prevent_initial_call=True,
)
def export_trades(clicks, run_id):
    """Everyone who sees the trades may export them (DESIGN.md); each export is audited."""
    if not clicks or not run_id:
        raise PreventUpdate
    with desk_db().reading() as session:
        one = session.get(BacktestRun, int(run_id))
    if one is None or one.status != "done":
        raise PreventUpdate
    content, count = trades_csv(one)
    _audit_export("backtest_trades", count, backtest_run=one.id)
    name = exports.file_name(f"backtest_run-{one.id}-trades")  # as every other export
    return {"content": content, "filename": name, "type": "text/csv"}


# --- the page ---------------------------------------------------------------------------


def layout(**_query):
    export = {"color": "light", "outline": True, "size": "sm"}
    return html.Div(
        [
            html.H1("Backtests", className="h3 my-3"),
            form(),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Row(
                            [
                                dbc.Col(html.H2("Runs", className="h5 mb-0")),
                                dbc.Col(
                                    # the backtest_run table's export, as every table's
                                    dbc.Button(
                                        "Export runs CSV",
                                        id="backtests-runs-export",
                                        href="/export/backtest_run.csv",
                                        external_link=True,
                                        **export,
                                    ),
                                    width="auto",
                                ),
                            ],
                            className="mb-2",
                        ),
                        html.Div(
                            id="backtests-runs", style={"maxHeight": "320px", "overflowY": "auto"}
                        ),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Row(
                            [
                                dbc.Col(
                                    dcc.Dropdown(
                                        id="backtests-show",
                                        placeholder="Show a run…",
                                        clearable=True,
                                    ),
                                    md=8,
                                ),
                                dbc.Col(
                                    dbc.Button(
                                        "Export trades CSV", id="backtests-trades-export", **export
                                    ),
                                    width="auto",
                                ),
                            ],
                            className="g-2 mb-2",
                        ),
                        html.Div(id="backtests-progress", className="mb-2"),
                        html.Div(id="backtests-result"),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Compare runs", className="h5"),
                        dcc.Dropdown(
                            id="backtests-compare-ids",
                            multi=True,
                            placeholder="Pick 2 to 4 finished runs…",
                            className="mb-2",
                        ),
                        html.Div(id="backtests-compare"),
                    ]
                ),
                className="mb-3",
            ),
            dcc.Store(id="backtests-status"),
            dcc.Store(id="backtests-queued-run"),
            dcc.Download(id="backtests-trades-download"),
            dcc.Interval(id="backtests-tick", interval=2000),
        ]
    )
