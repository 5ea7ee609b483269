"""Models (admin): every trained model version with its out-of-sample figures beside the
baselines, a version's report and feature importance, and promote / roll back, each
audited with the admin's name and reason; the Train form queues a training the engine runs
in a process of its own (`botdesk.ml.jobs`), its progress and then its report shown here."""

import json

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app import ml_train_form
from botdesk.app.components import empty_state, format_time, outcome_alert, small_table
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback, restricted_layout
from botdesk.db import ml_trainings
from botdesk.db.models import MlModel, Role
from botdesk.ml import jobs, registry

dash.register_page(
    __name__, path="/models", name="Models", title="Models · botdesk", role=Role.ADMIN, order=85
)

STATUS_COLORS = {"champion": "success", "candidate": "secondary", "retired": "light"}
STRATEGIES = ("model", "always_hold", "buy_and_hold", "ema_cross")


def _pct(value) -> str:
    return "—" if value is None else f"{value:+.2%}"


def _when(ms: int | None) -> str:
    from datetime import UTC, datetime

    return "—" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def models_table(models: list[MlModel]) -> html.Div | dbc.Table:
    if not models:
        return empty_state("No models yet: train one above or with `botdesk ml train`.")
    rows = []
    for model in models:
        figures = registry.report_of(model)
        c, b = figures["classification"], figures["backtests"]
        rows.append(
            [
                str(model.id),
                f"{model.symbol} {model.timeframe}",
                dbc.Badge(model.status, color=STATUS_COLORS.get(model.status, "danger")),
                html.Code(model.label),
                f"{_when(b['span']['from_ms'])} to {_when(b['span']['to_ms'])}",
                f"{c['accuracy']:.3f} / {c['majority_accuracy']:.3f}",
                *(_pct(b[name]["total_return"]) for name in STRATEGIES),
            ]
        )
    header = [
        "version",
        "market",
        "status",
        "label",
        "out of sample",
        "accuracy / majority",
        "model",
        "always hold",
        "buy & hold",
        "ema_cross",
    ]
    return small_table(header, rows, numeric={0, 5, 6, 7, 8, 9}, id="models-list")


def report_card(model: MlModel) -> html.Div:
    figures = registry.report_of(model)
    c, b = figures["classification"], figures["backtests"]
    per_class = [
        [name, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", f"{r['support']:,}"]
        for name, r in c["per_class"].items()
    ]
    confusion = [
        [actual, *(f"{n:,}" for n in row)]
        for actual, row in zip(("sell", "hold", "buy"), c["confusion"], strict=True)
    ]
    backtests = [
        [
            name,
            _pct(b[name]["total_return"]),
            f"{b[name]['max_drawdown']:.2%}",
            "—" if b[name]["sharpe"] is None else f"{b[name]['sharpe']:.2f}",
            str(b[name]["trades"]),
        ]
        for name in STRATEGIES
    ]
    importance = list(json.loads(model.importance).items())[:15]
    return html.Div(
        [
            html.P(
                f"Model {model.id}: {model.symbol} {model.timeframe}, trained by "
                f"{model.created_by} on {format_time(model.created_at)} from "
                f"{model.data_source}; {c['samples']:,} out-of-sample predictions over "
                f"{len(figures['folds'])} walk-forward folds. Accuracy {c['accuracy']:.3f} "
                f"against {c['majority_accuracy']:.3f} for always the most frequent class.",
                className="small",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        small_table(["class", "precision", "recall", "F1", "support"], per_class),
                        md=6,
                    ),
                    dbc.Col(
                        small_table(["actual \\ predicted", "sell", "hold", "buy"], confusion),
                        md=6,
                    ),
                ],
                className="g-3 mb-3",
            ),
            *_tuning_note(figures.get("tuning")),
            html.H2("Backtest on the same candles", className="h6"),
            small_table(
                ["strategy", "return", "max drawdown", "sharpe", "trades"],
                backtests,
                numeric={1, 2, 3, 4},
            ),
            html.H2("Feature importance (gain)", className="h6 mt-3"),
            small_table(
                ["feature", "gain"],
                [[name, f"{gain:,.1f}"] for name, gain in importance],
                numeric={1},
            ),
        ],
        id="models-report",
    )


def _tuning_note(tuned: dict | None) -> list:
    if not tuned:
        return []
    chosen = ", ".join(f"{name} {value:.4g}" for name, value in tuned["params"].items())
    return [
        html.P(
            f"Parameters chosen by {tuned['trials']} Optuna trials on {tuned['inner_folds']} "
            f"inner folds ({_when(tuned['inner_from_ms'])} to {_when(tuned['inner_to_ms'])}, "
            f"before the out-of-sample span; inner macro F1 "
            f"{tuned['best_inner_macro_f1']:.3f}): {chosen}.",
            className="small",
            id="models-tuning",
        )
    ]


def _models() -> list[MlModel]:
    with desk_db().reading() as session:
        return registry.models(session=session)


def _options(models: list[MlModel]) -> list[dict]:
    return [
        {"label": f"{m.id}: {m.symbol} {m.timeframe} ({m.status})", "value": str(m.id)}
        for m in models
    ]


@restricted_layout(Role.ADMIN)
def layout(**_query):
    models = _models()
    return html.Div(
        [
            html.H1("Models", className="h3 my-3"),
            ml_train_form.form(),
            dbc.Card(
                [
                    dbc.CardHeader("Every version, its out-of-sample figures and the baselines"),
                    dbc.CardBody(id="models-table", children=models_table(models)),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader("A version"),
                    dbc.CardBody(
                        [
                            dbc.Row(
                                [
                                    dbc.Col(
                                        dbc.Select(
                                            id="models-version",
                                            options=_options(models),
                                            placeholder="choose a version",
                                        ),
                                        md=4,
                                    ),
                                    dbc.Col(
                                        dbc.Input(
                                            id="models-reason",
                                            placeholder="reason (kept in the audit log)",
                                        ),
                                        md=4,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Button(
                                                "Promote", id="models-promote", color="primary"
                                            ),
                                            dbc.Button(
                                                "Roll back its market",
                                                id="models-rollback",
                                                color="warning",
                                                className="ms-2",
                                            ),
                                        ],
                                        md=4,
                                    ),
                                ],
                                className="g-2 mb-3",
                            ),
                            html.Div(id="models-result", className="mb-3"),
                            html.Div(id="models-detail"),
                        ]
                    ),
                ]
            ),
        ]
    )


@guarded_callback(
    Output("models-detail", "children"),
    Input("models-version", "value"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def show(version):
    if not version:
        raise PreventUpdate
    with desk_db().reading() as session:
        try:
            model = registry.get(session=session, version=int(version))
        except (ValueError, registry.RegistryError) as error:
            return outcome_alert(str(error), ok=False)
        return report_card(model)


@guarded_callback(
    Output("models-table", "children"),
    Output("models-result", "children"),
    Output("models-version", "options"),
    Input("models-promote", "n_clicks"),
    Input("models-rollback", "n_clicks"),
    State("models-version", "value"),
    State("models-reason", "value"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def act(promote_clicks, rollback_clicks, version, reason):
    if not (promote_clicks or rollback_clicks) or ctx.triggered_id is None:
        raise PreventUpdate
    reason = (reason or "").strip()[:500] or None
    who = {"ip": request.remote_addr, "user_id": current_user.id}
    try:
        if not version:
            raise registry.RegistryError("Choose a version first.")
        with desk_db().writing() as session:
            chosen = registry.get(session=session, version=int(version))
            if ctx.triggered_id == "models-promote":
                registry.promote(
                    session=session,
                    version=chosen.id,
                    actor=current_user.username,
                    reason=reason,
                    **who,
                )
                message = (
                    f"Model {chosen.id} is now the champion of {chosen.symbol} {chosen.timeframe}."
                )
            else:
                restored = registry.rollback(
                    session=session,
                    symbol=chosen.symbol,
                    timeframe=chosen.timeframe,
                    actor=current_user.username,
                    reason=reason,
                    **who,
                )
                message = (
                    f"Rolled back: model {restored.id} is the champion of "
                    f"{chosen.symbol} {chosen.timeframe}."
                )
    except (ValueError, registry.RegistryError, registry.Unloadable) as error:
        return dash.no_update, outcome_alert(str(error), ok=False), dash.no_update
    models = _models()
    return models_table(models), outcome_alert(message), _options(models)


@guarded_callback(
    Output("models-train-result", "children"),
    Output("models-train-job", "data"),
    Input("models-train", "n_clicks"),
    *ml_train_form.FORM_STATES,
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def queue_training(clicks, symbol, timeframe, label, from_text, to_text, tune):
    if not clicks:
        raise PreventUpdate
    try:
        params = jobs.checked(
            symbol=symbol,
            timeframe=timeframe,
            label=label,
            from_text=from_text,
            to_text=to_text,
            tune=tune,
        )
        with desk_db().writing() as session:
            stored = ml_trainings.stored_candles(
                session=session, symbol=params["symbol"], timeframe=params["timeframe"]
            )
            if stored < jobs.MIN_CANDLES:
                raise jobs.JobError(
                    f"{stored:,} stored {params['timeframe']} candles of {params['symbol']}: "
                    f"training needs at least {jobs.MIN_CANDLES:,} (`botdesk data import` "
                    "or `botdesk data download` stores them)"
                )
            command = ml_trainings.queue(
                session=session,
                params=params,
                issued_by=current_user.username,
                user_id=current_user.id,
                ip=request.remote_addr,
            )
    except jobs.JobError as error:
        return outcome_alert(f"Not queued. {error}", ok=False), dash.no_update
    message = (
        f"Training #{command.id} of {params['symbol']} {params['timeframe']} queued; the "
        "engine runs it in a process of its own."
    )
    return outcome_alert(message, id="models-train-queued"), command.id


@guarded_callback(
    Output("models-train-progress", "children"),
    Output("models-table", "children", allow_duplicate=True),
    Output("models-version", "options", allow_duplicate=True),
    Output("models-train-followed", "data"),
    Input("models-train-tick", "n_intervals"),
    Input("models-train-job", "data"),
    State("models-train-followed", "data"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def training_progress(_ticks, command_id, followed):
    """The followed training's progress; once it ends, its report (or failure) is shown
    once and the versions list and choice take the new model in, without a reload."""
    followed = followed or {}
    with desk_db().reading() as session:
        command_id = command_id or followed.get("id")
        if not command_id:  # a page opened afresh follows a training still under way
            command = next(iter(ml_trainings.recent(session=session, limit=1)), None)
            if command is None or command.status not in ("pending", "running"):
                raise PreventUpdate
            command_id = command.id
        try:
            command = ml_trainings.get(session=session, command_id=int(command_id))
        except (LookupError, ValueError):
            raise PreventUpdate from None
        if command.kind != ml_trainings.KIND:
            raise PreventUpdate
        ended = command.status in ("done", "failed")
        if ended and followed == {"id": command.id, "ended": True}:
            raise PreventUpdate  # already shown: nothing to send every tick
        card = None
        version = jobs.model_of(command.result)
        if command.status == "done" and version is not None:
            try:
                card = report_card(registry.get(session=session, version=version))
            except registry.RegistryError as error:
                card = outcome_alert(str(error), ok=False)
        progress = ml_train_form.progress_view(command, card)
    following = {"id": command.id, "ended": ended}
    if not ended:
        return progress, dash.no_update, dash.no_update, following
    models = _models()
    return progress, models_table(models), _options(models), following
