"""Bots: each bot's status, broker, open position and P&L; start, pause and stop (trader,
each a command row for the engine); create, edit and delete (admin) with the strategy's own
parameter form and validation messages."""

import contextlib
from decimal import Decimal

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from botdesk.app import acting, bot_controls, bot_form
from botdesk.app.command_grid import COMMANDS
from botdesk.app.components import (
    empty_state,
    environment_badge,
    format_money,
    format_quantity,
    outcome_alert,
    signed_money,
    small_table,
    status_badge,
)
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.render_once import RenderOnce
from botdesk.app.roles import AccessRefused, guarded_callback, require_role
from botdesk.db import capital_flows, exchange_accounts, kill_switch, portfolio
from botdesk.db.models import ACTIVE_BOT_STATES, Bot, Role
from botdesk.db.types import utcnow
from botdesk.engine.strategies import registry

dash.register_page(__name__, path="/bots", name="Bots", title="Bots · botdesk", order=10)

ACTIVE = ACTIVE_BOT_STATES


def marker() -> list:
    """Changes when the table's rows change: a bot's state, a fill, a position opened or
    closed, the kill switch; not when positions are marked (the P&L column follows those
    on its own, see refresh_marks)."""
    with desk_db().reading() as session:
        bots = session.exec(select(Bot.id, Bot.status, Bot.updated_at, Bot.name)).all()
        book = portfolio.book_marker(session=session)
        halted = kill_switch.status(session=session).engaged
    return [str(sorted(bots)), book, halted]


def marks_marker(session) -> list:
    return portfolio.open_positions_marker(session=session)


def controls(bot: Bot, start_refused: str | None = None) -> list:
    buttons = bot_controls.buttons(bot, start_refused, "bots-action")
    if current_user.allows(Role.ADMIN) and bot.status not in ACTIVE:  # stop it to change it
        buttons.append(
            dbc.Button(
                "Edit",
                id={"type": "bots-edit", "bot": bot.id},
                size="sm",
                color="info",
                outline=True,
                className="me-1",
            )
        )
        buttons.append(
            dbc.Button(
                "Delete",
                id={"type": "bots-delete", "bot": bot.id},
                size="sm",
                color="danger",
                outline=True,
            )
        )
    return buttons


# per worker: the table by database, role (the controls) and marker; realized P&L by
# the book (it moves only with a fill)
TABLES = RenderOnce()
REALIZED = RenderOnce()
ZERO = Decimal(0)


def shown_table(current: list) -> tuple:
    """(the marker shown, (the table, the marks its P&L column shows)) for `current`, the
    table's marker: built once per worker for every user of the same role; while it is
    being built, the one before (the poll brings it up to date)."""
    return TABLES.newest((desk_db().url, current_user.role.value), current, bots_table)


def pnl_cell(bot_id: int, amount) -> html.Span:
    return html.Span(signed_money(amount), id={"type": "bots-pnl", "bot": bot_id})


def bots_table() -> tuple:
    with desk_db().reading() as session:
        lines = portfolio.bot_lines(session=session)
        start_refused = bot_controls.start_refusal(session)
        marks = marks_marker(session)
    if not lines:
        hint = (
            "No bots yet — create one with New bot."
            if current_user.allows(Role.ADMIN)
            else "No bots yet — an admin creates one on this page."
        )
        return empty_state(hint, id="bots-empty"), marks
    rows = []
    for line in lines:
        bot, position = line.bot, line.position
        status = [status_badge(bot.status)]
        if bot.status_reason:
            status.append(html.Div(bot.status_reason, className="small text-secondary"))
        held = (
            f"{format_quantity(position.quantity)} @ {format_money(position.entry_price, '')}"
            if position
            else "—"
        )
        rows.append(
            [
                # a long name is cut with an ellipsis (the whole name in its tooltip), so
                # the controls stay in view
                dcc.Link(
                    bot.name,
                    href=f"/bots/{bot.id}",
                    id=f"bots-link-{bot.id}",
                    title=bot.name,
                    className="bot-name",
                ),
                html.Div(
                    [
                        bot.strategy,
                        html.Div(
                            bot_form.params_text(bot.params), className="small text-secondary"
                        ),
                    ]
                ),
                f"{bot.symbol} · {bot.timeframe}",
                environment_badge(line.environment),
                html.Div(status, id=f"bots-status-{bot.id}"),
                held,
                pnl_cell(bot.id, line.pnl),
                format_money(bot.capital),
                html.Div(controls(bot, start_refused), className="text-nowrap"),
            ]
        )
    header = [
        "Bot",
        "Strategy",
        "Market",
        "Broker",
        "Status",
        "Open position",
        "P&L",
        "Capital",
        "",
    ]
    return small_table(header, rows, {5, 6, 7}, id="bots-table"), marks


def layout(**_query):
    admin = current_user.allows(Role.ADMIN)
    shown, (table, marks) = shown_table(marker())
    header = [dbc.Col(html.H1("Bots", className="h3 my-3"))]
    if admin:
        header.append(
            dbc.Col(
                dbc.Button("New bot", id="bots-new", color="primary"),
                width="auto",
                className="align-self-center",
            )
        )
    return html.Div(
        [
            dbc.Row(header),
            html.Div(id="bots-result", className="mb-2"),
            dbc.Card(dbc.CardBody(table, id="bots-list"), className="mb-4"),
            COMMANDS.layout(title="Commands and what the engine made of them"),
            bot_form.dialog() if admin else None,
            bot_form.delete_dialog() if admin else None,
            dcc.Store(id="bots-editing"),
            dcc.Store(id="bots-deleting"),
            dcc.Store(id="bots-marker", data=shown),
            dcc.Store(id="bots-marks", data=marks),
            dcc.Interval(id="bots-tick", interval=2000),
        ]
    )


@guarded_callback(
    Output("bots-list", "children"),
    Output("bots-marker", "data"),
    Input("bots-tick", "n_intervals"),
    State("bots-marker", "data"),
    role=Role.VIEWER,
    prevent_initial_call=True,  # the layout has just rendered it
)
def refresh(_ticks, shown):
    current = marker()
    if current == shown:
        raise PreventUpdate
    current, (table, _marks) = shown_table(current)
    if current == shown:
        raise PreventUpdate
    return table, current


@guarded_callback(
    Output({"type": "bots-pnl", "bot": ALL}, "children"),
    Output("bots-marks", "data"),
    Input("bots-tick", "n_intervals"),
    State("bots-marks", "data"),
    role=Role.VIEWER,
)
def refresh_marks(_ticks, shown):
    """Positions marked to a new price: only the P&L cells change, the table stays."""
    with desk_db().reading() as session:
        marks = marks_marker(session)
        if marks == shown:
            raise PreventUpdate
        book = portfolio.book_marker(session=session)
        unrealized = portfolio.unrealized_by_bot(session=session)
    realized = REALIZED.get((desk_db().url, book), realized_by_bot)
    cells = ctx.outputs_list[0]
    return [
        signed_money(realized.get(bot, ZERO) + unrealized.get(bot, ZERO))
        for bot in (cell["id"]["bot"] for cell in cells)
    ], marks


def realized_by_bot() -> dict:
    with desk_db().reading() as session:
        return portfolio.realized_by_bot(session=session)


def _clicked() -> dict:
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    return trigger


@guarded_callback(
    Output("bots-result", "children"),
    Input({"type": "bots-action", "bot": ALL, "action": ALL}, "n_clicks"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def control(_clicks):
    return bot_controls.pressed(prefix="bots")


def _account_options() -> list[dict]:
    with desk_db().reading() as session:
        accounts = exchange_accounts.all_accounts(session=session)
    return [{"label": f"{a.name} ({a.environment})", "value": str(a.id)} for a in accounts]


@guarded_callback(
    Output("bots-form", "is_open"),
    Output("bots-editing", "data"),
    Output("bots-form-title", "children"),
    Output("bots-name", "value"),
    Output("bots-strategy", "value"),
    Output("bots-symbol", "value"),
    Output("bots-timeframe", "value"),
    Output("bots-capital", "value"),
    Output("bots-broker", "value"),
    Output("bots-account", "value"),
    Output("bots-account", "options"),
    Output("bots-allow-lookahead", "value"),
    Input("bots-new", "n_clicks"),
    Input({"type": "bots-edit", "bot": ALL}, "n_clicks"),
    Input("bots-form-cancel", "n_clicks"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def open_form(_new, _edits, _cancel):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    if trigger == "bots-form-cancel":
        return (False, *([no_update] * 11))
    options = _account_options()
    if trigger == "bots-new":
        return (
            True,
            None,
            "New bot",
            "",
            "ema_cross",
            "BTCUSDT",
            "1m",
            "10000",
            "paper",
            None,
            options,
            False,
        )
    with desk_db().reading() as session:
        bot = session.get(Bot, trigger.get("bot"))
    if bot is None:
        raise PreventUpdate
    account = str(bot.exchange_account_id) if bot.exchange_account_id else None
    return (
        True,
        bot.id,
        f"Edit {bot.name}",
        bot.name,
        bot.strategy,
        bot.symbol,
        bot.timeframe,
        str(bot.capital),
        bot.broker,
        account,
        options,
        bot.lookahead_allowed_by is not None,
    )


@guarded_callback(
    Output("bots-params", "children"),
    Input("bots-strategy", "value"),
    State("bots-editing", "data"),
    role=Role.ADMIN,
)
def show_params(strategy, editing):
    values = None
    if isinstance(editing, int):
        with desk_db().reading() as session:
            bot = session.get(Bot, editing)
        if bot is not None and bot.strategy == strategy:
            # a bot row with bad parameters shows the defaults, to fix it from
            with contextlib.suppress(ValueError):
                values = registry.create_from_json(bot.strategy, bot.params).params.model_dump()
    return bot_form.param_fields(strategy, values)


@guarded_callback(
    Output("bots-form-error", "children"),
    Output("bots-form", "is_open", allow_duplicate=True),
    Output("bots-result", "children", allow_duplicate=True),
    Input("bots-save", "n_clicks"),
    State("bots-editing", "data"),
    State("bots-name", "value"),
    State("bots-strategy", "value"),
    State("bots-symbol", "value"),
    State("bots-timeframe", "value"),
    State("bots-capital", "value"),
    State("bots-broker", "value"),
    State("bots-account", "value"),
    State({"type": bot_form.PARAM, "name": ALL}, "value"),
    State({"type": bot_form.PARAM, "name": ALL}, "id"),
    State("bots-allow-lookahead", "value"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def save(
    clicked, editing, name, strategy, symbol, timeframe, capital, broker, account, values, ids,
    allow_lookahead=False,
):  # fmt: skip
    if not clicked:
        raise PreventUpdate
    try:
        require_role(Role.ADMIN, "bot save")
        params = {i["name"]: v for i, v in zip(ids or [], values or [], strict=False)}
        fields = bot_form.check(
            name=name,
            strategy=strategy,
            params=params,
            symbol=symbol,
            timeframe=timeframe,
            broker=broker,
            exchange_account_id=account,
            capital=capital,
        )
        lookahead = bot_form.lookahead_override(fields, allow_lookahead is True)
        with desk_db().writing() as session:
            refusal = bot_form.symbol_refusal(
                session=session, settings=desk_settings(), symbol=fields.symbol
            )
            if refusal:
                raise bot_form.BotFormError(f"symbol: {refusal}")
            bot = _write(session, editing, fields, lookahead)
    except (AccessRefused, bot_form.BotFormError) as error:
        return outcome_alert(str(error), ok=False, id="bots-form-message"), no_update, no_update
    except IntegrityError:
        message = f"name: a bot named {name!r} exists already"
        return outcome_alert(message, ok=False, id="bots-form-message"), no_update, no_update
    verb = "Saved" if editing else "Created"
    return None, False, outcome_alert(f"{verb} {bot.name} (stopped until started).")


def _write(session, editing, fields: bot_form.BotFields, lookahead: str | None = None) -> Bot:
    if isinstance(editing, int):
        bot = session.get(Bot, editing)
        if bot is None:
            raise bot_form.BotFormError("this bot was deleted meanwhile")
        if bot.status in ACTIVE:
            raise bot_form.BotFormError(f"{bot.name} is {bot.status}: stop it before editing")
    else:
        bot = Bot(name=fields.name, strategy=fields.strategy, symbol=fields.symbol)
    capital_before = bot.capital if isinstance(editing, int) else None
    bot.name, bot.strategy, bot.params = fields.name, fields.strategy, fields.params_json
    bot.symbol, bot.timeframe, bot.broker = fields.symbol, fields.timeframe, fields.broker
    bot.exchange_account_id, bot.capital = fields.exchange_account_id, fields.capital
    bot.lookahead_allowed_by = current_user.username if lookahead else None
    bot.updated_at = utcnow()
    session.add(bot)
    session.flush()
    action = "bot.update" if isinstance(editing, int) else "bot.create"
    if capital_before is None:
        capital_flows.bot_created(session=session, bot=bot, actor=current_user.username)
    else:
        capital_flows.capital_changed(
            session=session, bot=bot, before=capital_before, actor=current_user.username
        )
    details = {
        "strategy": fields.strategy,
        "params": fields.params,
        "symbol": fields.symbol,
        "broker": fields.broker,
        "capital": str(fields.capital),
    }
    acting.record(session, action, target=f"bot:{bot.id}", details=details)
    if lookahead:
        acting.record(session, "bot.lookahead_override", target=f"bot:{bot.id}", reason=lookahead)
    return bot


@guarded_callback(
    Output("bots-delete-dialog", "is_open"),
    Output("bots-deleting", "data"),
    Output("bots-delete-what", "children"),
    Output("bots-delete-error", "children", allow_duplicate=True),
    Input({"type": "bots-delete", "bot": ALL}, "n_clicks"),
    Input("bots-delete-cancel", "n_clicks"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def ask_delete(_deletes, _cancel):
    trigger = ctx.triggered_id
    if trigger == "bots-delete-cancel":
        return False, None, None, None
    trigger = _clicked()
    with desk_db().reading() as session:
        lines = portfolio.bot_lines(session=session, bot_id=trigger.get("bot"))
    if not lines:
        raise PreventUpdate
    line = lines[0]
    warning = [
        html.P(
            f"Delete {line.bot.name}? Its signals, orders and fills are deleted with it "
            "(export them first if you need them); its equity history stays in the total, "
            "and its equity leaves as a capital flow, not a loss."
        ),
    ]
    if line.position is not None:
        warning.append(outcome_alert("It holds an open position: close it first.", ok=False))
    if line.bot.status in ACTIVE:
        warning.append(outcome_alert(f"It is {line.bot.status}: stop it first.", ok=False))
    return True, line.bot.id, warning, None


@guarded_callback(
    Output("bots-delete-error", "children"),
    Output("bots-delete-dialog", "is_open", allow_duplicate=True),
    Output("bots-result", "children", allow_duplicate=True),
    Input("bots-delete-confirm", "n_clicks"),
    State("bots-deleting", "data"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def delete(clicked, bot_id):
    if not clicked or not isinstance(bot_id, int):
        raise PreventUpdate
    try:
        require_role(Role.ADMIN, "bot delete")
    except AccessRefused as refused:
        return outcome_alert(str(refused), ok=False), no_update, no_update
    with desk_db().writing() as session:
        lines = portfolio.bot_lines(session=session, bot_id=bot_id)
        if not lines:
            return outcome_alert("This bot is gone already.", ok=False), no_update, no_update
        line = lines[0]
        refusal = None
        if line.position is not None:
            refusal = f"{line.bot.name} holds an open position: close it first (Positions)."
        elif line.bot.status in ACTIVE:
            refusal = f"{line.bot.name} is {line.bot.status}: stop it first."
        if refusal:
            acting.record(
                session, "bot.delete", target=f"bot:{bot_id}", outcome="refused", reason=refusal
            )
        else:
            doomed = session.get(Bot, bot_id)
            capital_flows.bot_deleted(session=session, bot=doomed, actor=current_user.username)
            session.delete(doomed)
            acting.record(
                session, "bot.delete", target=f"bot:{bot_id}", details={"name": line.bot.name}
            )
    if refusal:
        return outcome_alert(refusal, ok=False, id="bots-delete-refused"), no_update, no_update
    return None, False, outcome_alert(f"Deleted {line.bot.name}.")
