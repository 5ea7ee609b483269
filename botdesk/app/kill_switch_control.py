"""The kill switch on every page: engage (trader or admin) and release (admin), in the navbar.

Engaging asks for a reason and a mode ("halt" or "halt and flatten") in a confirm dialog;
releasing asks for a reason. Both go through db/kill_switch.py, which latches the flag
with the command and its audit row in one transaction. The role is checked again inside
each callback (a viewer or a trader posting the release by hand is refused and audited).
The navbar control is re-rendered only when the switch's state changes.
"""

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app.components import outcome_alert
from botdesk.app.context import desk_db
from botdesk.app.roles import AccessRefused, guarded_callback, require_role
from botdesk.db import kill_switch
from botdesk.db.models import Role

HALT, FLATTEN = "halt", "flatten"


def state_marker() -> list:
    """What the navbar control depends on: engaged or not, and the latest command."""
    with desk_db().reading() as session:
        status = kill_switch.status(session=session)
    return [status.engaged, status.command_id, str(status.released_at)]


def control(engaged: bool, user) -> html.Div | None:
    if engaged and user.allows(Role.ADMIN):
        return dbc.Button("Release kill switch", id="kill-release-open", color="warning", size="sm")
    if engaged:
        return dbc.Badge("KILL SWITCH ENGAGED", color="danger", className="p-2")
    if user.allows(Role.TRADER):
        return dbc.Button("Kill switch", id="kill-open", color="danger", size="sm")
    return None


def layout(user) -> list:
    """The navbar slot, its state and both dialogs (the dialogs only for who may use them)."""
    marker = state_marker()
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
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Engage the kill switch")),
            dbc.ModalBody(
                [
                    html.P(
                        "Every bot is halted and every open order cancelled at once. No "
                        "order leaves the engine until an admin releases the switch."
                    ),
                    dbc.Label("Reason (required, in the audit log)", html_for="kill-reason"),
                    dbc.Textarea(id="kill-reason", maxlength=500, rows=2),
                    dbc.RadioItems(
                        id="kill-mode",
                        options=[
                            {
                                "label": "Halt: stop bots, cancel orders, keep positions",
                                "value": HALT,
                            },
                            {
                                "label": "Halt and flatten: also close every position at market",
                                "value": FLATTEN,
                            },
                        ],
                        value=HALT,
                        className="mt-3",
                    ),
                    html.Div(id="kill-result", className="mt-3"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id="kill-cancel", color="secondary"),
                    dbc.Button("Engage kill switch", id="kill-engage", color="danger"),
                ]
            ),
        ],
        id="kill-modal",
        is_open=False,
    )


def release_dialog() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Release the kill switch")),
            dbc.ModalBody(
                [
                    html.P("Orders may leave the engine again. Bots stay stopped until started."),
                    dbc.Label("Reason (required)", html_for="kill-release-reason"),
                    dbc.Textarea(id="kill-release-reason", maxlength=500, rows=2),
                    html.Div(id="kill-release-result", className="mt-3"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id="kill-release-cancel", color="secondary"),
                    dbc.Button("Release", id="kill-release", color="warning"),
                ]
            ),
        ],
        id="kill-release-modal",
        is_open=False,
    )


@guarded_callback(
    Output("kill-control", "children"),
    Output("kill-marker", "data"),
    Input("shell-tick", "n_intervals"),
    State("kill-marker", "data"),
    role=Role.VIEWER,
)
def refresh_control(_ticks, shown):
    marker = state_marker()
    if marker == shown:
        raise PreventUpdate
    return control(marker[0], current_user), marker


@guarded_callback(
    Output("kill-modal", "is_open"),
    Input("kill-open", "n_clicks"),
    Input("kill-cancel", "n_clicks"),
    State("kill-modal", "is_open"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def toggle_engage(opened, cancelled, is_open):
    if not (opened or cancelled):
        raise PreventUpdate
    return not is_open


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
    try:
        require_role(Role.TRADER, "kill switch engage")
    except AccessRefused as refused:
        return outcome_alert(str(refused), ok=False), no_update, no_update
    if mode not in (HALT, FLATTEN):
        return outcome_alert("Choose halt or halt and flatten.", ok=False), no_update, no_update
    try:
        with desk_db().writing() as session:
            kill_switch.engage(
                session=session,
                by=current_user.username,
                role=current_user.role,
                reason=reason if isinstance(reason, str) else "",
                flatten=mode == FLATTEN,
                ip=request.remote_addr,
                user_id=current_user.id,
            )
    except kill_switch.KillSwitchError as error:
        return outcome_alert(f"Not engaged: {error}.", ok=False), no_update, no_update
    return None, False, ""


@guarded_callback(
    Output("kill-release-modal", "is_open"),
    Input("kill-release-open", "n_clicks"),
    Input("kill-release-cancel", "n_clicks"),
    State("kill-release-modal", "is_open"),
    role=Role.ADMIN,
    prevent_initial_call=True,
)
def toggle_release(opened, cancelled, is_open):
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
    try:
        require_role(Role.ADMIN, "kill switch release")
    except AccessRefused as refused:
        return outcome_alert(str(refused), ok=False), no_update, no_update
    try:
        with desk_db().writing() as session:
            kill_switch.release(
                session=session,
                by=current_user.username,
                role=current_user.role,
                reason=reason if isinstance(reason, str) else "",
                ip=request.remote_addr,
                user_id=current_user.id,
            )
    except kill_switch.KillSwitchError as error:
        return outcome_alert(f"Not released: {error}.", ok=False), no_update, no_update
    return None, False, ""
