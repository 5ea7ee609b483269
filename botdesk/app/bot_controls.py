"""A bot's start, pause and stop, wherever the desk offers them (the Bots page's table, a
bot's own page): the buttons a role may press, each disabled with the reason while the kill
switch refuses a start, and the command a press queues, with the server's own role check
and an audited refusal under the kill switch."""

import dash_bootstrap_components as dbc
from dash import ctx, html
from dash.exceptions import PreventUpdate
from flask_login import current_user

from botdesk.app import acting
from botdesk.app.components import outcome_alert
from botdesk.app.context import desk_db
from botdesk.app.roles import AccessRefused, require_role
from botdesk.db import kill_switch
from botdesk.db.models import Bot, BotState, Role

CONTROLS = {"start": "bot.start", "pause": "bot.pause", "stop": "bot.stop"}


def start_refusal(session) -> str | None:
    """Why no bot may start now (the API's 409 message), or None."""
    return kill_switch.START_REFUSED if kill_switch.status(session=session).engaged else None


def buttons(bot: Bot, start_refused: str | None, id_type: str) -> list:
    """The bot's controls for a trader or admin (none for a viewer), with ids
    {"type": id_type, "bot": id, "action": start|pause|stop}."""
    if not current_user.allows(Role.TRADER):
        return []
    if bot.status == BotState.RUNNING:
        offered = (("pause", "Pause", "warning"), ("stop", "Stop", "light"))
    elif bot.status == BotState.PAUSED:
        offered = (("start", "Resume", "success"), ("stop", "Stop", "light"))
    else:
        offered = (("start", "Start", "success"),)
    found = []
    for action, label, color in offered:
        refused = start_refused if action == "start" else None
        button = dbc.Button(
            label,
            id={"type": id_type, "bot": bot.id, "action": action},
            color=color,
            size="sm",
            outline=True,
            className="me-1",
            disabled=bool(refused),
        )
        # a disabled button shows no tooltip of its own: its wrapper says why
        found.append(
            html.Span(button, title=refused.capitalize(), className="d-inline-block")
            if refused
            else button
        )
    return found


def pressed(*, prefix: str) -> dbc.Alert:
    """The answer to the control that triggered this callback (nothing for a render)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    return press(trigger, prefix=prefix)


def press(trigger: dict, *, prefix: str) -> dbc.Alert:
    """Queue the command of a pressed control (`trigger`: its id), or say why not; the
    alert's ids carry the page's `prefix` (`<prefix>-queued`, `<prefix>-refused`)."""
    kind = CONTROLS.get(trigger.get("action"))
    try:
        require_role(Role.TRADER, f"bot {trigger.get('action')}")
    except AccessRefused as refused:
        return outcome_alert(str(refused), ok=False)
    with desk_db().writing() as session:
        bot = session.get(Bot, trigger.get("bot")) if kind else None
        if bot is None:
            return outcome_alert("No such bot or action.", ok=False)
        refusal = start_refusal(session) if kind == "bot.start" else None
        if refusal:
            target = f"bot:{bot.id}"
            acting.record(
                session, f"command.{kind}", target=target, outcome="refused", reason=refusal
            )
        else:
            command = acting.issue_command(session, kind, target=f"bot:{bot.id}", reason="desk")
    if refusal:
        message = f"{bot.name} not started: {refusal}."
        return outcome_alert(message, ok=False, id=f"{prefix}-refused")
    message = f"{kind} queued for {bot.name} (command {command.id})."
    return outcome_alert(message, id=f"{prefix}-queued")
