"""The bot page's manual-trading panel: force an entry, sell all or part of the position,
cancel a resting order, change the position's stop, take-profit or trailing distance.

Each action is checked by `botdesk.db.manual_orders` (the same rules as the REST API) and
queued as an engine command with its reason and audit row; the engine sends the order
through the order path. Every callback checks the trader role on the server; a viewer's
page shows no panel. Buy and Sell ask first (a confirm dialog, `botdesk.app.manual_dialogs`,
which also holds the Breakeven button's callback); the dialog's button queues. Ids start
with "manual-".
"""

from decimal import Decimal

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app import manual_dialogs
from botdesk.app.components import format_money, format_quantity, outcome_alert, reason_field
from botdesk.app.context import desk_db
from botdesk.app.roles import AccessRefused, guarded_callback, require_role
from botdesk.db import manual_orders
from botdesk.db.manual_inputs import ManualOrderRefused
from botdesk.db.manual_orders import Issuer
from botdesk.db.models import Bot, Command, Role

ORDER_TYPES = [{"label": "Market", "value": "market"}, {"label": "Limit", "value": "limit"}]
SIZES = [
    {"label": "Quote amount", "value": "quote"},
    {"label": "Quantity", "value": "quantity"},
    {"label": "Bot's risk sizing", "value": "risk"},
]
PARTS = [
    {"label": "All of it", "value": "all"},
    {"label": "Quantity", "value": "quantity"},
    {"label": "Percent", "value": "percent"},
]


def _field(label: str, field_id: str, placeholder: str = "", value=None) -> dbc.Row:
    # text, not a number input: a browser's number is a float; amounts stay exact strings
    return dbc.Row(
        [
            dbc.Label(label, html_for=field_id, width=5, className="small"),
            dbc.Col(
                dbc.Input(
                    id=field_id,
                    type="text",
                    inputMode="decimal",
                    size="sm",
                    placeholder=placeholder,
                    value=value,
                ),
                width=7,
            ),
        ],
        className="mb-1",
    )


def _choice(field_id: str, options: list[dict], value: str) -> dbc.RadioItems:
    return dbc.RadioItems(
        id=field_id, options=options, value=value, inline=True, className="small mb-1"
    )


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def position_line(bot: Bot, position) -> str:
    if position is None:
        return f"No open position in {bot.symbol}."
    trailing = f"{_plain(position.trailing_percent)} %" if position.trailing_percent else "none"
    return (
        f"Open: {format_quantity(position.quantity)} {position.symbol} at "
        f"{format_money(position.entry_price)} · stop {format_money(position.stop_price)} · "
        f"take-profit {format_money(position.take_profit)} · trailing {trailing}"
    )


def order_options(orders) -> list[dict]:
    return [
        {
            "label": f"#{o.id} {o.side} {o.type} {format_quantity(o.quantity - o.filled_quantity)}"
            + (f" at {format_money(o.price)}" if o.price is not None else "")
            + f" ({o.purpose}, {o.status})",
            "value": o.id,
        }
        for o in orders
    ]


def _entry_form() -> dbc.Col:
    return dbc.Col(
        [
            html.H3("Force entry (buy)", className="h6"),
            _choice("manual-entry-type", ORDER_TYPES, "market"),
            _field("Limit price", "manual-entry-price", "limit only"),
            _choice("manual-entry-size", SIZES, "quote"),
            _field("Amount", "manual-entry-amount", "quote or quantity"),
            _field("Stop-loss", "manual-entry-stop", "optional"),
            _field("Take-profit", "manual-entry-take-profit", "optional"),
            _field("Good till (UTC)", "manual-entry-until", "limit: empty for GTC"),
            *reason_field("manual-entry-reason"),
            dbc.Button("Buy", id="manual-entry-submit", color="primary", size="sm"),
            html.Div(id="manual-entry-result", className="mt-2"),
        ],
        md=3,
    )


def _exit_form() -> dbc.Col:
    return dbc.Col(
        [
            html.H3("Exit (sell)", className="h6"),
            _choice("manual-exit-part", PARTS, "all"),
            _field("Quantity or %", "manual-exit-amount", "for a part"),
            _choice("manual-exit-type", ORDER_TYPES, "market"),
            _field("Limit price", "manual-exit-price", "limit only"),
            _field("Good till (UTC)", "manual-exit-until", "limit: empty for GTC"),
            *reason_field("manual-exit-reason"),
            dbc.Button("Sell", id="manual-exit-submit", color="danger", size="sm"),
            html.Div(id="manual-exit-result", className="mt-2"),
        ],
        md=3,
    )


def _protection_form(position) -> dbc.Col:
    shown = {
        "stop": _plain(position.stop_price) if position else None,
        "take_profit": _plain(position.take_profit) if position else None,
        "trailing_percent": _plain(position.trailing_percent) if position else None,
    }
    return dbc.Col(
        [
            html.H3("Stop, take-profit, trailing", className="h6"),
            _field("Stop-loss", "manual-protect-stop", "none", shown["stop"]),
            _field("Take-profit", "manual-protect-take-profit", "none", shown["take_profit"]),
            _field("Trailing %", "manual-protect-trailing", "none", shown["trailing_percent"]),
            dbc.FormText("Only the fields you change are sent; empty one removes it."),
            *reason_field("manual-protect-reason"),
            dbc.Button("Update", id="manual-protect-submit", color="primary", size="sm"),
            dbc.Button(
                "Breakeven",
                id="manual-protect-breakeven",
                color="secondary",
                outline=True,
                size="sm",
                className="ms-2",
                title="Fill the stop with the position's entry price (then Update)",
            ),
            html.Div(id="manual-protect-result", className="mt-2"),
            dcc.Store(id="manual-protect-shown", data=shown),
        ],
        md=3,
    )


def _cancel_form(orders) -> dbc.Col:
    return dbc.Col(
        [
            html.H3("Cancel a resting order", className="h6"),
            dcc.Dropdown(
                id="manual-cancel-order",
                options=order_options(orders),
                placeholder="open order",
                className="mb-1 small",
            ),
            *reason_field("manual-cancel-reason"),
            dbc.Button("Cancel order", id="manual-cancel-submit", color="warning", size="sm"),
            html.Div(id="manual-cancel-result", className="mt-2"),
        ],
        md=3,
    )


def panel(bot_id: int):
    """The panel for traders and admins; a viewer sees why there is none."""
    if not (current_user.is_authenticated and current_user.allows(Role.TRADER)):
        return html.P(
            "Manual trading needs the trader role.",
            className="text-secondary small",
            id="manual-not-allowed",
        )
    with desk_db().reading() as session:
        bot = session.get(Bot, bot_id)
        position = manual_orders.open_position_of(session=session, bot=bot)
        orders = manual_orders.open_orders_of(session=session, bot_id=bot_id)
    body = [
        html.H2("Manual trading", className="h5"),
        html.P(position_line(bot, position), id="manual-position", className="small"),
        dbc.Row(
            [_entry_form(), _exit_form(), _protection_form(position), _cancel_form(orders)],
            className="g-4",
        ),
        manual_dialogs.entry_dialog(),
        manual_dialogs.exit_dialog(),
    ]
    return dbc.Card(dbc.CardBody(body), className="mb-3", id="manual-panel")


def _issuer() -> Issuer:
    return Issuer(
        by=current_user.username,
        role=current_user.role,
        via="desk",
        ip=request.remote_addr,
        user_id=current_user.id,
    )


def _queue(action: str, queue, **fields):
    """Queue one manual action as the signed-in user: the outcome to show."""
    try:
        require_role(Role.TRADER, action)
    except AccessRefused as refused:
        return outcome_alert(str(refused), ok=False)
    try:
        with desk_db().writing() as session:
            command: Command = queue(session=session, issuer=_issuer(), **fields)
    except ManualOrderRefused as refused:
        return outcome_alert(f"Not sent: {refused}.", ok=False)
    return outcome_alert(
        f"{action.capitalize()} queued (command {command.id}); the engine sends it through "
        "the order path and the command shows the outcome.",
        id=f"manual-queued-{command.id}",
    )


def _good_till(until) -> dict:
    """A limit's time in force from the form: GTC when "Good till" is empty."""
    if isinstance(until, str) and until.strip():
        return {"time_in_force": "GTD", "expires_at": until}
    return {"time_in_force": "GTC"}


@guarded_callback(
    Output("manual-cancel-order", "options"),
    Output("manual-position", "children"),
    Input("bot-tick", "n_intervals"),
    State("bot-id", "data"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def refresh(_ticks, bot_id):
    bot = manual_dialogs.page_bot(bot_id)
    with desk_db().reading() as session:
        position = manual_orders.open_position_of(session=session, bot=bot)
        orders = manual_orders.open_orders_of(session=session, bot_id=bot.id)
    return order_options(orders), position_line(bot, position)


@guarded_callback(
    Output("manual-entry-result", "children"),
    Output("manual-entry-dialog", "is_open", allow_duplicate=True),
    Input("manual-entry-confirm", "n_clicks"),
    State("bot-id", "data"),
    State("manual-entry-type", "value"),
    State("manual-entry-price", "value"),
    State("manual-entry-size", "value"),
    State("manual-entry-amount", "value"),
    State("manual-entry-stop", "value"),
    State("manual-entry-take-profit", "value"),
    State("manual-entry-until", "value"),
    State("manual-entry-reason", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def force_entry(clicked, bot_id, order_type, price, size, amount, stop, take_profit, until, reason):
    if not clicked:
        raise PreventUpdate
    outcome = _queue(
        "manual entry",
        manual_orders.force_entry,
        bot_id=bot_id,
        type=order_type,
        price=price,
        size=size,
        amount=amount if size != "risk" else None,
        stop=stop,
        take_profit=take_profit,
        **_good_till(until),
        reason=reason,
    )
    return outcome, False


@guarded_callback(
    Output("manual-exit-result", "children"),
    Output("manual-exit-dialog", "is_open", allow_duplicate=True),
    Input("manual-exit-confirm", "n_clicks"),
    State("bot-id", "data"),
    State("manual-exit-part", "value"),
    State("manual-exit-amount", "value"),
    State("manual-exit-type", "value"),
    State("manual-exit-price", "value"),
    State("manual-exit-until", "value"),
    State("manual-exit-reason", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def exit_position(clicked, bot_id, part, amount, order_type, price, until, reason):
    if not clicked:
        raise PreventUpdate
    bot = manual_dialogs.page_bot(bot_id)
    with desk_db().reading() as session:
        position = manual_orders.open_position_of(session=session, bot=bot)
    if position is None:
        return outcome_alert(f"Not sent: {bot.name} holds no position.", ok=False), False
    outcome = _queue(
        "exit",
        manual_orders.exit_position,
        position_id=position.id,
        quantity=amount if part == "quantity" else None,
        percent=amount if part == "percent" else None,
        type=order_type,
        price=price,
        **_good_till(until),
        reason=reason,
    )
    return outcome, False


def _typed(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


@guarded_callback(
    Output("manual-protect-result", "children"),
    Input("manual-protect-submit", "n_clicks"),
    State("bot-id", "data"),
    State("manual-protect-stop", "value"),
    State("manual-protect-take-profit", "value"),
    State("manual-protect-trailing", "value"),
    State("manual-protect-shown", "data"),
    State("manual-protect-reason", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def change_protection(clicked, bot_id, stop, take_profit, trailing, shown, reason):
    if not clicked:
        raise PreventUpdate
    bot = manual_dialogs.page_bot(bot_id)
    with desk_db().reading() as session:
        position = manual_orders.open_position_of(session=session, bot=bot)
    if position is None:
        return outcome_alert(f"Not sent: {bot.name} holds no position.", ok=False)
    shown = shown if isinstance(shown, dict) else {}
    typed = {"stop": stop, "take_profit": take_profit, "trailing_percent": trailing}
    # only what the operator changed: the engine may have moved the stop since (trailing)
    changes = {
        field: _typed(value)
        for field, value in typed.items()
        if _typed(value) != _typed(shown.get(field))
    }
    if not changes:
        return outcome_alert("Nothing changed: edit a field first.", ok=False)
    return _queue(
        "protection change",
        manual_orders.change_protection,
        position_id=position.id,
        changes=changes,
        reason=reason,
    )


@guarded_callback(
    Output("manual-cancel-result", "children"),
    Input("manual-cancel-submit", "n_clicks"),
    State("manual-cancel-order", "value"),
    State("manual-cancel-reason", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def cancel_order(clicked, order_id, reason):
    if not clicked:
        raise PreventUpdate
    if not isinstance(order_id, int):
        return outcome_alert("Choose an open order to cancel.", ok=False)
    return _queue("cancel", manual_orders.cancel_order, order_id=order_id, reason=reason)
