"""The manual panel's two conveniences: a confirm step before a force entry or an exit is
queued (the form's Buy / Sell opens a dialog saying what will be sent; its button queues
it), and "Breakeven", which fills the stop field with the position's entry price.

Neither sends anything: the queueing callbacks in `botdesk.app.manual_orders` still check
the role and every value on the server. Each callback here checks the trader role too.
"""

from decimal import Decimal

from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from botdesk.app.components import confirm_dialog, outcome_alert
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback
from botdesk.db import manual_orders
from botdesk.db.models import Bot, Role

SIZE_WORDS = {"quote": "USDT of", "quantity": "of", "risk": "by the bot's risk sizing:"}


def entry_dialog():
    return confirm_dialog(
        "manual-entry-dialog",
        "Queue this entry?",
        [html.P(id="manual-entry-what")],
        cancel_id="manual-entry-cancel",
        confirm_id="manual-entry-confirm",
        confirm_label="Queue the buy",
        color="primary",
    )


def exit_dialog():
    return confirm_dialog(
        "manual-exit-dialog",
        "Queue this exit?",
        [html.P(id="manual-exit-what")],
        cancel_id="manual-exit-cancel",
        confirm_id="manual-exit-confirm",
        confirm_label="Queue the sale",
    )


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def page_bot(bot_id) -> Bot:
    """The bot of the detail page the dialog is on (no update for a missing one)."""
    if not isinstance(bot_id, int):
        raise PreventUpdate
    with desk_db().reading() as session:
        bot = session.get(Bot, bot_id)
    if bot is None:
        raise PreventUpdate
    return bot


def _how(order_type, price, until) -> str:
    if order_type != "limit":
        return "at market"
    till = f"good till {_text(until)} UTC" if _text(until) else "good till cancelled"
    return f"by limit at {_text(price) or '?'}, {till}"


def entry_summary(bot: Bot, order_type, price, size, amount, stop, take_profit, until) -> str:
    what = "" if size == "risk" else f"{_text(amount) or '?'} "
    words = SIZE_WORDS.get(size, "of")
    protection = [f"stop {_text(stop)}" if _text(stop) else "no stop"]
    if _text(take_profit):
        protection.append(f"take-profit {_text(take_profit)}")
    return (
        f"{bot.name}: buy {what}{words} {bot.symbol} {_how(order_type, price, until)}, "
        f"{', '.join(protection)}. The server checks every value again."
    )


def exit_summary(bot: Bot, part, amount, order_type, price, until) -> str:
    if part == "all":
        what = "all of the position"
    elif part == "percent":
        what = f"{_text(amount) or '?'} % of the position"
    else:
        what = f"{_text(amount) or '?'} of the position"
    return (
        f"{bot.name}: sell {what} in {bot.symbol} {_how(order_type, price, until)}. "
        "The server checks every value again."
    )


@guarded_callback(
    Output("manual-entry-dialog", "is_open"),
    Output("manual-entry-what", "children"),
    Input("manual-entry-submit", "n_clicks"),
    Input("manual-entry-cancel", "n_clicks"),
    State("bot-id", "data"),
    State("manual-entry-type", "value"),
    State("manual-entry-price", "value"),
    State("manual-entry-size", "value"),
    State("manual-entry-amount", "value"),
    State("manual-entry-stop", "value"),
    State("manual-entry-take-profit", "value"),
    State("manual-entry-until", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def confirm_entry(clicked, _cancel, bot_id, *form):
    if ctx.triggered_id == "manual-entry-cancel":
        return False, ""
    if not clicked:
        raise PreventUpdate
    return True, entry_summary(page_bot(bot_id), *form)


@guarded_callback(
    Output("manual-exit-dialog", "is_open"),
    Output("manual-exit-what", "children"),
    Input("manual-exit-submit", "n_clicks"),
    Input("manual-exit-cancel", "n_clicks"),
    State("bot-id", "data"),
    State("manual-exit-part", "value"),
    State("manual-exit-amount", "value"),
    State("manual-exit-type", "value"),
    State("manual-exit-price", "value"),
    State("manual-exit-until", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def confirm_exit(clicked, _cancel, bot_id, *form):
    if ctx.triggered_id == "manual-exit-cancel":
        return False, ""
    if not clicked:
        raise PreventUpdate
    return True, exit_summary(page_bot(bot_id), *form)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


@guarded_callback(
    Output("manual-protect-stop", "value"),
    Output("manual-protect-result", "children", allow_duplicate=True),
    Input("manual-protect-breakeven", "n_clicks"),
    State("bot-id", "data"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def breakeven(clicked, bot_id):
    """The stop field set to the entry price (sent only when the trader presses Update)."""
    if not clicked:
        raise PreventUpdate
    bot = page_bot(bot_id)
    with desk_db().reading() as session:
        position = manual_orders.open_position_of(session=session, bot=bot)
    if position is None:
        refused = outcome_alert(f"{bot.name} holds no position.", ok=False)
        return no_update, refused
    return _plain(position.entry_price), None
