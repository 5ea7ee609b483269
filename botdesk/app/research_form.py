"""The research form: a strategy, its data, the objective and the sampler, the trials, and
the walk-forward's windows; the check of what was submitted before a study or a
walk-forward is made (a message naming the field, nothing made)."""

import re
import secrets

import dash_bootstrap_components as dbc
from dash import State, html

from botdesk.app.backtest_form import SAMPLE, SOURCES, sample_spans
from botdesk.app.context import desk_db, desk_settings
from botdesk.db import typed
from botdesk.db.backtest_runs import RISK, SIZINGS, sizing_limits
from botdesk.engine.backtest.sizing import Sizing
from botdesk.engine.research import studies
from botdesk.engine.research.objectives import OBJECTIVES
from botdesk.engine.strategies import registry
from botdesk.engine.timeframes import TIMEFRAMES


class FormError(ValueError):
    """A form value that cannot be used; the message names the field."""


def _select(id_, options, value, label, width=2):
    return dbc.Col(
        [
            dbc.Label(label, className="small mb-1"),
            dbc.Select(id=id_, options=[{"label": o, "value": o} for o in options], value=value),
        ],
        md=width,
    )


def _input(id_, value, label, width=2):
    return dbc.Col(
        [dbc.Label(label, className="small mb-1"), dbc.Input(id=id_, value=value)], md=width
    )


def form() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("New optimisation or walk-forward", className="h5"),
                dbc.Row(
                    [
                        _select(
                            "research-strategy",
                            sorted(registry.STRATEGIES),
                            "ema_cross",
                            "Strategy",
                            3,
                        ),
                        _select("research-symbol", sorted(sample_spans()), "BTCUSDT", "Symbol"),
                        _select("research-timeframe", list(TIMEFRAMES), "5m", "Timeframe"),
                        _select("research-source", list(SOURCES), SAMPLE, "Data"),
                        _select("research-sizing", list(SIZINGS), RISK, "Sizing"),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        _select("research-objective", OBJECTIVES, "sharpe", "Objective"),
                        _select("research-sampler", studies.SAMPLERS, "tpe", "Sampler"),
                        _input("research-trials", "50", "Trials (per window)"),
                        _input("research-min-trades", "10", "Min trades"),
                        _input("research-seed", "", "Seed (blank: drawn)"),
                        _input("research-train-days", "3", "WF training (days)"),
                        _input("research-test-days", "1", "WF test (days)"),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Button("Optimise", id="research-optimise", color="primary", className="me-2"),
                dbc.Button("Walk forward", id="research-walk", color="primary", outline=True),
                html.Div(id="research-form-result", className="mt-2"),
                html.Div(id="research-walk-result", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


SEED_LIMIT = 2**31 - 1


def checked(strategy, symbol, timeframe, source, sizing, objective, sampler, trials, minimum, seed):
    """The study's settings from the form. A blank seed is drawn here and recorded with the
    study, so every study started from the desk can be repeated exactly."""
    if strategy not in registry.STRATEGIES:
        raise FormError(f"strategy: one of {', '.join(sorted(registry.STRATEGIES))}")
    if source not in SOURCES or timeframe not in TIMEFRAMES or sizing not in SIZINGS:
        raise FormError("data, timeframe and sizing: choose from the lists")
    symbol = (symbol or "").upper()
    if not re.fullmatch(r"[A-Z0-9]{2,20}", symbol):
        raise FormError("symbol: like BTCUSDT")
    try:
        trials = typed.whole_number(trials, field="trials", low=1, high=5000)
        minimum = typed.whole_number(minimum, field="min trades", low=0, high=100_000)
        if seed is None or not str(seed).strip():
            seed = secrets.randbelow(SEED_LIMIT)
        else:
            seed = typed.whole_number(seed, field="seed", low=0, high=SEED_LIMIT)
    except typed.Refused as refused:
        raise FormError(str(refused)) from None
    with desk_db().reading() as session:
        limits = sizing_limits(session=session, sizing=sizing)
    config = desk_settings()
    try:
        return studies.StudySettings(
            strategy=strategy,
            symbol=symbol,
            timeframe=timeframe,
            data_source=source,
            objective=objective,
            sampler=sampler,
            min_trades=minimum,
            trials=trials,
            seed=seed,
            fee_rate=config.FEE_RATE,
            slippage_bps=config.SLIPPAGE_BPS,
            sizing=Sizing(sizing, *limits),
        )
    except studies.StudyError as error:
        raise FormError(str(error)) from None


FORM_STATES = [
    State("research-strategy", "value"),
    State("research-symbol", "value"),
    State("research-timeframe", "value"),
    State("research-source", "value"),
    State("research-sizing", "value"),
    State("research-objective", "value"),
    State("research-sampler", "value"),
    State("research-trials", "value"),
    State("research-min-trades", "value"),
    State("research-seed", "value"),
]
