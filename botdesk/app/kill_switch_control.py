"""The kill switch on every page: engage (trader or admin) and release (admin), in the navbar.

Engaging asks for a reason and a mode ("halt" or "halt and flatten") in a confirm dialog;
releasing asks for a reason. Both go through db/kill_switch.py, which latches the flag
with the command and its audit row in one transaction. The role is checked again inside
each callback (a viewer or a trader posting the release by hand is refused and audited).
The navbar control is re-rendered only when the switch's state changes (by the shell's
poll, botdesk/app/shell.py, which reads the switch with the engine's state).
"""

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app.components import confirm_dialog, outcome_alert, reason_field
from botdesk.app.context import desk_db
from botdesk.app.roles import AccessRefused, guarded_callback, require_role
from botdesk.db import kill_switch
from botdesk.db.models import Role

HALT, FLATTEN = "halt", "flatten"


def marker_of(status: kill_switch.KillSwitchStatus) -> list:
    return [status.engaged, status.command_id, str(status.released_at)]


def control(engaged: bool, user) -> html.Div | None:
    if engaged and user.allows(Role.ADMIN):
        return dbc.Button("Release kill switch", id="kill-release-open", color="warning", size="sm")
    if engaged:
        return dbc.Badge("KILL SWITCH ENGAGED", color="danger", className="p-2")
    if user.allows(Role.TRADER):
        return dbc.Button("Kill switch", id="kill-open", color="danger", size="sm")
    return None


def layout(user, marker: list) -> list:
    """The navbar slot, its state (`marker`) and both dialogs (the dialogs only for who may
    use them)."""
    parts = [
        html.Div(control(marker[0], user), id="kill-control", className="me-3"),
        dcc.Store(id="kill-marker", data=marker),
    ]
    if user.allows(Role.TRADER):
        parts.append(engage_dialog())
    if user.allows(Role.ADMIN):
        parts.append(release_dialog())
    return parts


def engage_dialog() -> dbc.Modal:
    choices = [
        {"label": "Halt: stop bots, cancel orders, keep positions", "value": HALT},
        {"label": "Halt and flatten: also close every position at market", "value": FLATTEN},
    ]
    body = [
        html.P(
            "Every bot is halted and every open order cancelled at once. No order leaves "
            "the engine until an admin releases the switch."
        ),
        *reason_field("kill-reason"),
        dbc.RadioItems(id="kill-mode", options=choices, value=HALT, className="mt-3"),
        html.Div(id="kill-result", className="mt-3"),
    ]
    return confirm_dialog(
        "kill-modal",
        "Engage the kill switch",
        body,
        cancel_id="kill-cancel",
        confirm_id="kill-engage",
        confirm_label="Engage kill switch",
    )


def release_dialog() -> dbc.Modal:
    body = [
        html.P("Orders may leave the engine again. Bots stay stopped until started."),
        *reason_field("kill-release-reason", "Reason (required)"),
        html.Div(id="kill-release-result", className="mt-3"),
    ]
    return confirm_dialog(
        "kill-release-modal",
        "Release the kill switch",
        body,
        cancel_id="kill-release-cancel",
        confirm_id="kill-release",
        confirm_label="Release",
        color="warning",
    )


@guarded_callback(
    Output("kill-modal", "is_open"),
    Input("kill-open", "n_clicks"),
    Input("kill-cancel", "n_clicks"),
    State("kill-modal", "is_open"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def toggle_engage(opened, cancelled, is_open):
    return _toggled(opened, cancelled, is_open)


@guarded_callback(
    Output("kill-result", "children"),
    Output("kill-modal", "is_open", allow_duplicate=True),
    Output("kill-reason", "value"),
    Input("kill-engage", "n_clicks"),
    State("kill-reason", "value"),
    State("kill-mode", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def engage(clicked, reason, mode):
    if not clicked:
        raise PreventUpdate
    if mode not in (HALT, FLATTEN):
        return outcome_alert("Choose halt or halt and flatten.", ok=False), no_update, no_update
    return _change(Role.TRADER, "engage", kill_switch.engage, reason, flatten=mode == FLATTEN)


@guarded_callback(
    Output("kill-release-modal", "is_open"),
    Input("kill-release-open", "n_clicks"),
    Input("kill-release-cancel", "n_clicks"),
    State("kill-release-modal", "is_open"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def toggle_release(opened, cancelled, is_open):
    return _toggled(opened, cancelled, is_open)


def _toggled(opened, cancelled, is_open) -> bool:
    """A dialog opens on its button and closes on Cancel (nothing clicked: no change)."""
    if not (opened or cancelled):
        raise PreventUpdate
    return not is_open


@guarded_callback(
    Output("kill-release-result", "children"),
    Output("kill-release-modal", "is_open", allow_duplicate=True),
    Output("kill-release-reason", "value"),
    Input("kill-release", "n_clicks"),
    State("kill-release-reason", "value"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def release(clicked, reason):
    if not clicked:
        raise PreventUpdate
    return _change(Role.ADMIN, "release", kill_switch.release, reason)


def _change(needed: Role, verb: str, change, reason, **options) -> tuple:
    """Engage or release as the current user (role checked again here); the dialog's
    message, whether it stays open, and its reason field."""
    try:
        require_role(needed, f"kill switch {verb}")
        with desk_db().writing() as session:
            change(
                session=session,
                by=current_user.username,
                role=current_user.role,
                reason=reason if isinstance(reason, str) else "",
                ip=request.remote_addr,
                user_id=current_user.id,
                **options,
            )
    except AccessRefused as refused:
        return outcome_alert(str(refused), ok=False), no_update, no_update
    except kill_switch.KillSwitchError as error:
        past = {"engage": "engaged", "release": "released"}[verb]
        return outcome_alert(f"Not {past}: {error}.", ok=False), no_update, no_update
    return None, False, ""
