"""Research: optimise a strategy's parameters (an Optuna study the engine runs; `botdesk
optimize` adds to the same studies), watch its progress, best trials, parameter
importance and plots; backtest a trial or make a bot of it in one click; walk-forward
runs and their stitched out-of-sample equity."""

from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user
from sqlmodel import select

from botdesk.app import acting, bot_form, research_form, research_views
from botdesk.app.components import outcome_alert
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.roles import AccessRefused, guarded_callback, require_role
from botdesk.db import backtest_runs, commands, typed, walk_forward_runs
from botdesk.db.models import Bot, Role, WalkForwardRun
from botdesk.db.types import utcnow
from botdesk.engine.research import gate, studies
from botdesk.engine.research.runs import walk_forward_settings
from botdesk.engine.timeframes import timeframe_ms

dash.register_page(
    __name__, path="/research", name="Research", title="Research · botdesk", order=75
)

RUN_ROLE = Role.TRADER  # like a backtest: spends the engine's time, moves no money
DAY_MS = 86_400_000


def _lookahead_note(settings) -> str:
    why = gate.lookahead_refusal(settings.strategy, settings.fixed)
    return f" Warning: {why}." if why else ""


@guarded_callback(
    Output("research-form-result", "children"),
    Output("research-created", "data"),
    Input("research-optimise", "n_clicks"),
    *research_form.FORM_STATES,
    role=RUN_ROLE,
    prevent_initial_call=True,
)
def optimise(clicks, *values):
    if not clicks:
        raise PreventUpdate
    try:
        settings = research_form.checked(*values)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{settings.strategy}-{settings.symbol}-{settings.timeframe}-{stamp}"
        study = studies.create_study(
            research_views.storage(desk_settings().DATABASE_URL), name, settings
        )
    except (research_form.FormError, studies.StudyError) as error:
        return outcome_alert(f"Not started. {error}", ok=False), dash.no_update
    note = _lookahead_note(settings)
    if note:
        study.set_user_attr("lookahead", note.strip())
    with desk_db().writing() as session:
        command = commands.issue(
            session=session,
            kind="study.optimize",
            target=f"study:{name}",
            params={"trials": settings.trials},
            issued_by=current_user.username,
            user_id=current_user.id,
            ip=request.remote_addr,
        )
    message = f"Study {name} created (command #{command.id}); the engine runs its trials.{note}"
    return outcome_alert(message, ok=not note, id="research-started"), name


@guarded_callback(
    Output("research-walk-result", "children"),
    Input("research-walk", "n_clicks"),
    *research_form.FORM_STATES,
    State("research-train-days", "value"),
    State("research-test-days", "value"),
    role=RUN_ROLE,
    prevent_initial_call=True,
)
def walk(clicks, *values):
    if not clicks:
        raise PreventUpdate
    *asked, train_days, test_days = values
    try:
        settings = research_form.checked(*asked)
        days = {}
        for field, value in (("WF training", train_days), ("WF test", test_days)):
            days[field] = typed.whole_number(value, field=f"{field} (days)", low=1, high=3650)
    except (research_form.FormError, typed.Refused) as error:
        return outcome_alert(f"Not started. {error}", ok=False)
    per_day = DAY_MS // timeframe_ms(settings.timeframe)
    cut = walk_forward_settings(
        settings,
        train=days["WF training"] * per_day,
        test=days["WF test"] * per_day,
        step=None,
        anchored=False,
        trials=settings.trials,
    )
    with desk_db().writing() as session:
        run, command = walk_forward_runs.create(
            session=session,
            settings=cut,
            created_by=current_user.username,
            queue=True,
            user_id=current_user.id,
            ip=request.remote_addr,
        )
    note = _lookahead_note(settings)
    message = f"Walk-forward #{run.id} queued (command #{command.id}).{note}"
    return outcome_alert(message, ok=not note, id="research-wf-queued")


def _study(name: str):
    try:
        return studies.load_study(research_views.storage(desk_settings().DATABASE_URL), name)
    except (studies.StudyError, KeyError):
        return None, None


@guarded_callback(
    Output("research-study", "options"),
    Output("research-study", "value"),
    Input("research-tick", "n_intervals"),
    Input("research-created", "data"),
    role=Role.VIEWER,
)
def list_studies(_ticks, created):
    """The studies; one just created is chosen at once (its option and the choice of it go
    out together: the dropdown drops a value it has no option for)."""
    options = research_views.study_options(desk_settings().DATABASE_URL)
    just_created = ctx.triggered_id == "research-created" and created
    return options, created if just_created else dash.no_update


@guarded_callback(
    Output("research-progress", "children"),
    Output("research-best", "children"),
    Output("research-finished", "data"),
    Input("research-study", "value"),
    Input("research-tick", "n_intervals"),
    State("research-finished", "data"),
    role=Role.VIEWER,
)
def show_study(name, _ticks, shown):
    if not name:
        return [], html.P("Choose a study.", className="text-secondary"), None
    study, settings = _study(name)
    if study is None:
        return outcome_alert(f"No study {name}.", ok=False), [], None
    finished = sum(
        1 for t in study.get_trials(deepcopy=False) if t.state.name in ("COMPLETE", "PRUNED")
    )
    marker = f"{name}:{finished}"
    warning = study.user_attrs.get("lookahead")
    progress = research_views.progress(study, settings)
    if warning:
        progress.append(dbc.Alert(warning, color="danger", className="py-1 mt-2 small"))
    if marker == shown:  # the table (and its buttons) stays put until a trial finishes
        return progress, dash.no_update, dash.no_update
    best = research_views.best_trials(
        study,
        settings,
        backtest=current_user.allows(RUN_ROLE),
        make_bot=current_user.allows(Role.ADMIN),
    )
    return progress, best, marker


@guarded_callback(
    Output("research-plots", "children"),
    Input("research-finished", "data"),
    role=Role.VIEWER,
)
def show_plots(marker):
    if not marker:
        return []
    study, _ = _study(marker.rsplit(":", 1)[0])
    return research_views.importance_and_plots(study) if study is not None else []


def _clicked_trial(kind: str) -> int:
    trigger = ctx.triggered_id
    if (
        not isinstance(trigger, dict)
        or trigger.get("type") != kind
        or not ctx.triggered[0]["value"]
    ):
        raise PreventUpdate
    return int(trigger["trial"])


@guarded_callback(
    Output("research-action-result", "children"),
    Input({"type": "research-backtest", "trial": ALL}, "n_clicks"),
    State("research-study", "value"),
    role=RUN_ROLE,
    prevent_initial_call=True,
)
def backtest_trial(_clicks, name):
    number = _clicked_trial("research-backtest")
    study, settings = _study(name or "")
    if study is None:
        raise PreventUpdate
    params = studies.trial_params(study, settings, number)
    with desk_db().writing() as session:
        run, command = backtest_runs.queue(
            session=session,
            strategy=settings.strategy,
            params=params,
            symbol=settings.symbol,
            timeframe=settings.timeframe,
            data_source=settings.data_source,
            from_ms=settings.from_ms,
            to_ms=settings.to_ms,
            fee_rate=settings.fee_rate,
            slippage_bps=settings.slippage_bps,
            capital=settings.capital,
            sizing=settings.sizing.mode,
            issued_by=current_user.username,
            user_id=current_user.id,
            ip=request.remote_addr,
            limits=(settings.sizing.risk_per_trade, settings.sizing.max_position_notional),
        )
    message = [
        f"Trial #{number} queued as backtest #{run.id} (command #{command.id}): see ",
        dcc.Link("Backtests", href="/backtests"),
        ".",
    ]
    return outcome_alert(message, id="research-backtest-queued")


@guarded_callback(
    Output("research-bot-result", "children"),
    Input({"type": "research-bot", "trial": ALL}, "n_clicks"),
    State("research-study", "value"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def bot_from_trial(_clicks, name):
    """A stopped paper bot with the trial's parameters, the study's symbol, timeframe and
    capital; checked as the bot form checks one (lookahead included), audited."""
    number = _clicked_trial("research-bot")
    try:
        require_role(Role.ADMIN, "bot create")
        study, settings = _study(name or "")
        if study is None:
            raise PreventUpdate
        params = studies.trial_params(study, settings, number)
        fields = bot_form.check(
            name=f"{settings.strategy}-{name[-15:]}-t{number}"[:100],
            strategy=settings.strategy,
            params=params,
            symbol=settings.symbol,
            timeframe=settings.timeframe,
            broker="paper",
            exchange_account_id=None,
            capital=str(settings.capital),
        )
        bot_form.lookahead_override(fields, allow=False)
        with desk_db().writing() as session:
            refusal = bot_form.symbol_refusal(
                session=session, settings=desk_settings(), symbol=fields.symbol
            )
            if refusal:
                raise bot_form.BotFormError(f"symbol: {refusal}")
            if session.exec(select(Bot).where(Bot.name == fields.name)).first() is not None:
                raise bot_form.BotFormError(f"a bot named {fields.name} exists already")
            bot = Bot(
                name=fields.name,
                strategy=fields.strategy,
                params=fields.params_json,
                symbol=fields.symbol,
                timeframe=fields.timeframe,
                broker="paper",
                capital=fields.capital,
                updated_at=utcnow(),
            )
            session.add(bot)
            session.flush()
            details = {
                "strategy": fields.strategy,
                "params": fields.params,
                "study": name,
                "trial": number,
                "symbol": fields.symbol,
                "broker": "paper",
                "capital": str(fields.capital),
            }
            acting.record(session, "bot.create", target=f"bot:{bot.id}", details=details)
    except (AccessRefused, bot_form.BotFormError) as error:
        return outcome_alert(f"No bot made. {error}", ok=False, id="research-bot-refused")
    message = [
        f"Created {bot.name} (paper, stopped): start it on the ",
        dcc.Link("Bots", href="/bots"),
        " page.",
    ]
    return outcome_alert(message, id="research-bot-created")


@guarded_callback(
    Output("research-wf", "children"),
    Output("research-wf-show", "options"),
    Input("research-tick", "n_intervals"),
    Input("research-wf-show", "value"),
    role=Role.VIEWER,
)
def show_walk_forward(_ticks, run_id):
    with desk_db().reading() as session:
        runs = walk_forward_runs.recent(session=session, limit=30)
        shown = session.get(WalkForwardRun, int(run_id)) if run_id else None
    options = [
        {"label": f"#{r.id} {r.strategy} {r.symbol} {r.timeframe}", "value": r.id}
        for r in runs
        if r.status == "done"
    ]
    return research_views.walk_forward_table(runs) + research_views.walk_forward_detail(
        shown
    ), options


def layout(**_query):
    def card(*children):
        return dbc.Card(dbc.CardBody(list(children)), className="mb-3")

    return html.Div(
        [
            html.H1("Research", className="h3 my-3"),
            research_form.form(),
            card(
                html.H2("Studies", className="h5"),
                dcc.Dropdown(id="research-study", placeholder="Choose a study…", className="mb-2"),
                html.Div(id="research-progress", className="mb-2"),
                html.Div(id="research-action-result", className="mb-2"),
                html.Div(id="research-bot-result", className="mb-2"),
                html.Div(id="research-best"),
                html.Div(id="research-plots"),
            ),
            card(
                html.H2("Walk-forward", className="h5"),
                dcc.Dropdown(
                    id="research-wf-show", placeholder="Show a finished run…", className="mb-2"
                ),
                html.Div(id="research-wf"),
            ),
            dcc.Store(id="research-finished"),
            dcc.Store(id="research-created"),
            dcc.Interval(id="research-tick", interval=3000),
        ]
    )
