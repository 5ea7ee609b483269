"""How the desk shows research: a study's progress, its best trials (with their actions),
parameter importance and Optuna's own plots; walk-forward runs, their windows and the
stitched out-of-sample equity."""

import json
from functools import lru_cache

import dash_bootstrap_components as dbc
import optuna
import plotly.graph_objects as go
from dash import dcc, html

from botdesk.app.backtest_views import percent, ratio, when
from botdesk.app.components import PLOT_TEMPLATE, outcome_alert, small_table
from botdesk.db.models import WalkForwardRun
from botdesk.engine.research import studies

SHOWN_TRIALS = 10
FINISHED = ("COMPLETE", "PRUNED", "FAIL")


@lru_cache(maxsize=4)
def storage(database_url: str):
    """One Optuna storage per database for the desk process (its engine is pooled)."""
    return studies.storage_for(database_url)


def study_options(database_url: str) -> list[dict]:
    summaries = optuna.get_all_study_summaries(storage(database_url), include_best_trial=False)
    botdesk = [s for s in summaries if studies.SETTINGS_ATTR in s.user_attrs]
    botdesk.sort(key=lambda s: (s.datetime_start is not None, s.datetime_start), reverse=True)
    return [
        {"label": f"{s.study_name} ({s.n_trials} trials)", "value": s.study_name} for s in botdesk
    ]


def progress(study: optuna.Study, settings: studies.StudySettings) -> list:
    trials = study.get_trials(deepcopy=False)
    finished = sum(1 for t in trials if t.state.name in FINISHED)
    running = sum(1 for t in trials if t.state.name == "RUNNING")
    share = min(100, round(100 * finished / max(settings.trials, 1)))
    return [
        dbc.Progress(value=share, label=f"{share} %", className="mb-1", id="research-progress-bar"),
        html.Small(
            f"{finished} of {settings.trials} trials finished"
            + (f", {running} running" if running else "")
            + f"; objective {settings.objective} (at least {settings.min_trades} trades), "
            f"{settings.sampler} sampler (seed {settings.seed}), "
            f"{settings.strategy} on {settings.symbol} {settings.timeframe} "
            f"({settings.data_source})",
            className="text-secondary",
        ),
    ]


def best_trials(
    study: optuna.Study, settings: studies.StudySettings, *, backtest: bool, make_bot: bool
) -> list:
    """The best trials; with a Backtest button (traders) and a Create bot one (admins)."""
    best = studies.completed(study)[:SHOWN_TRIALS]
    if not best:
        return [html.P("No trial has a value yet.", className="text-secondary")]
    rows = []
    for trial in best:
        found = trial.user_attrs.get("figures", {})
        params = {**settings.fixed, **trial.params}
        buttons = []
        if backtest:
            buttons.append(
                dbc.Button(
                    "Backtest",
                    id={"type": "research-backtest", "trial": trial.number},
                    size="sm",
                    color="primary",
                    outline=True,
                    className="me-1",
                )
            )
        if make_bot:
            buttons.append(
                dbc.Button(
                    "Create bot",
                    id={"type": "research-bot", "trial": trial.number},
                    size="sm",
                    color="secondary",
                    outline=True,
                )
            )
        rows.append(
            [
                f"#{trial.number}",
                f"{trial.value:.4f}",
                found.get("trades"),
                percent(found.get("total_return")),
                percent(found.get("max_drawdown"), sign=False),
                ", ".join(f"{k}={_short(v)}" for k, v in sorted(params.items())),
                html.Div(buttons, className="text-nowrap"),
            ]
        )
    header = ["trial", settings.objective, "trades", "return", "max drawdown", "parameters", ""]
    return [small_table(header, rows, numeric={1, 2, 3, 4}, id="research-best-trials")]


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def importance_and_plots(study: optuna.Study) -> list:
    complete = studies.completed(study)
    if len(complete) < 3:
        return [html.P("Importance and plots once 3 trials have a value.", className="small")]
    parts = []
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    try:
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
        rows = [[name, f"{share:.3f}"] for name, share in found.items()]
        parts.append(
            small_table(["parameter", "importance"], rows, numeric={1}, id="research-importance")
        )
    except (ValueError, RuntimeError) as error:
        parts.append(html.P(f"Importance not available: {error}", className="small"))
    plots = [
        ("history", lambda: optuna.visualization.plot_optimization_history(study)),
        (
            "importances",
            lambda: optuna.visualization.plot_param_importances(study, evaluator=evaluator),
        ),
        ("slice", lambda: optuna.visualization.plot_slice(study)),
    ]
    for name, make in plots:
        try:
            figure = make()
        except (ValueError, RuntimeError) as error:
            parts.append(html.P(f"Plot {name} not available: {error}", className="small"))
            continue
        figure.update_layout(template=PLOT_TEMPLATE, height=320, margin={"t": 40, "b": 30})
        parts.append(
            dcc.Graph(figure=figure, id=f"research-plot-{name}", config={"displaylogo": False})
        )
    return parts


def walk_forward_table(runs: list[WalkForwardRun]) -> list:
    if not runs:
        return [html.P("No walk-forward yet.", className="text-secondary")]
    rows = []
    for run in runs:
        result = json.loads(run.result) if run.result else None
        figures = (result or {}).get("figures") or {}
        state = run.status if run.status != "running" else f"running {run.progress:.0%}"
        rows.append(
            [
                f"#{run.id}",
                f"{run.strategy} {run.symbol} {run.timeframe}",
                state,
                percent(figures.get("total_return")),
                ratio(figures.get("efficiency")),
                run.error or "",
            ]
        )
    header = ["run", "strategy", "status", "OOS return", "WF efficiency", "error"]
    return [small_table(header, rows, numeric={3, 4}, id="research-wf-runs")]


def walk_forward_detail(run: WalkForwardRun | None) -> list:
    if run is None or not run.result:
        return []
    result = json.loads(run.result)
    figures = result["figures"]
    if not figures:
        return [outcome_alert("No window had a trial with a value.", ok=False)]
    curve = result["equity_curve"]
    chart = go.Figure(
        go.Scatter(x=[when(ms) for ms, _ in curve], y=[v for _, v in curve], name="OOS equity")
    )
    chart.update_layout(
        template=PLOT_TEMPLATE,
        height=300,
        margin={"t": 30, "b": 30},
        title="Stitched out-of-sample equity",
    )
    rows = []
    for row in result["windows"]:
        ins, oos = row["in_sample"] or {}, row["out_of_sample"] or {}
        params = ", ".join(f"{k}={_short(v)}" for k, v in sorted((row["params"] or {}).items()))
        rows.append(
            [
                row["window"],
                f"{when(row['train_from_ms'])} → {when(row['train_to_ms'])}",
                f"{when(row['test_from_ms'])} → {when(row['test_to_ms'])}",
                percent(ins.get("total_return")),
                percent(oos.get("total_return")),
                ratio(row["efficiency"]),
                params or "no value",
            ]
        )
    summary = (
        f"{figures['windows_tested']} of {figures['windows']} windows tested, "
        f"{figures['trades']} trades, out-of-sample return {percent(figures['total_return'])}, "
        f"max drawdown {percent(figures['max_drawdown'], sign=False)}, "
        f"Sharpe {ratio(figures['sharpe'])}, walk-forward efficiency "
        f"{ratio(figures['efficiency'])}"
    )
    header = ["window", "training", "test", "in-sample", "out-of-sample", "efficiency", "chosen"]
    return [
        html.P(summary, id="research-wf-summary"),
        dcc.Graph(figure=chart, config={"displaylogo": False}),
        small_table(header, rows, numeric={3, 4, 5}, id="research-wf-windows"),
    ]
