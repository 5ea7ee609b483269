"""The Models page's Train form (market, label, window, tune trials) and the view of a
queued training: its progress while the engine's job runs, the report when it is done."""

import dash_bootstrap_components as dbc
from dash import State, dcc, html

from botdesk.app.components import date_input, outcome_alert
from botdesk.db.models import Command
from botdesk.engine.timeframes import FILE_INTERVALS
from botdesk.ml import jobs

FORM_STATES = (
    State("models-train-symbol", "value"),
    State("models-train-timeframe", "value"),
    State("models-train-label", "value"),
    State("models-train-from", "value"),
    State("models-train-to", "value"),
    State("models-train-tune", "value"),
)
TICK_MS = 2000


def _field(label: str, control, width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width)


def form() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Train a model on the stored candles"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            _field(
                                "Symbol", dbc.Input(id="models-train-symbol", value="BTCUSDT"), 2
                            ),
                            _field(
                                "Timeframe",
                                dbc.Select(
                                    id="models-train-timeframe",
                                    options=[{"label": t, "value": t} for t in FILE_INTERVALS],
                                    value="1h",
                                ),
                                1,
                            ),
                            _field(
                                "Label",
                                dbc.Input(
                                    id="models-train-label",
                                    value="forward:horizon=12,threshold=0.01",
                                ),
                                3,
                            ),
                            _field("From (UTC)", date_input("models-train-from"), 2),
                            _field("To (UTC)", date_input("models-train-to"), 2),
                            _field(
                                "Tune trials",
                                dbc.Input(id="models-train-tune", value="0", type="number"),
                                1,
                            ),
                            dbc.Col(
                                dbc.Button("Train", id="models-train", color="primary"),
                                md=1,
                                className="d-flex align-items-end",
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    html.P(
                        "The engine trains in a process of its own (walk-forward validation, "
                        "then the report against the baselines); an empty window takes every "
                        "stored candle; tune trials choose the parameters with Optuna before "
                        "the out-of-sample span.",
                        className="small text-muted mb-2",
                    ),
                    html.Div(id="models-train-result"),
                    html.Div(id="models-train-progress"),
                    dcc.Store(id="models-train-job"),
                    dcc.Store(id="models-train-followed"),  # {id, ended} of the training shown
                    dcc.Interval(id="models-train-tick", interval=TICK_MS),
                ]
            ),
        ],
        className="mb-3",
    )


def progress_view(command: Command, report_card) -> html.Div:
    """A queued or running training's progress bar, its failure, or the model's report."""
    title = f"Training #{command.id}"
    if command.status == "failed":
        return outcome_alert(
            f"{title} failed: {command.result}", ok=False, id="models-train-failed"
        )
    if command.status == "done":
        return html.Div(
            [outcome_alert(f"{title}: {command.result}", id="models-train-done"), report_card],
        )
    percent, stage = jobs.progress_of(command.result) or (0, "queued")
    return html.Div(
        [
            html.Div(f"{title}: {stage}", className="small mb-1"),
            dbc.Progress(value=percent, label=f"{percent}%", id="models-train-bar"),
        ],
        className="mb-2",
    )
