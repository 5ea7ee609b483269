"""The frame around every page: navbar, the engine and kill-switch strip, the page body.

The strip refreshes every second on every page, so a stale engine or an engaged kill
switch is never more than a second from the operator's eyes.
"""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update
from flask_login import current_user

from botdesk.app import kill_switch_control
from botdesk.app.components import engine_health, kill_switch_banner, navbar
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.render_once import RenderOnce
from botdesk.app.roles import guarded_callback, pages_for
from botdesk.db import engine_state, kill_switch
from botdesk.db.models import Role

# per worker: the navbar by user, role and the kill switch's state, kept as sent
NAVBARS = RenderOnce(size=256)


def layout():
    """Evaluated per request, so the navbar lists only what this user may open."""
    if not current_user.is_authenticated:  # the wall redirects first; this is a backstop
        return html.Div()
    state, marker = engine_and_switch()
    user = current_user
    key = (desk_db().url, user.username, user.role.value, marker)
    bar = NAVBARS.get(
        key, lambda: navbar(pages_for(user), user, kill_switch_control.layout(user, marker))
    )
    return html.Div(
        [
            dcc.Location(id="shell-url"),
            bar,
            html.Div(strip_of(state), id="shell-status"),
            dcc.Interval(id="shell-tick", interval=1000),
            dbc.Container(dash.page_container, fluid=True, className="page-body"),
        ]
    )


def engine_and_switch() -> tuple:
    """The engine's state (one plain row) and the kill switch's marker read from it."""
    with desk_db().reading_rows() as connection:
        state = engine_state.read(connection=connection)
    return state, kill_switch_control.marker_of(kill_switch.status_of(state))


def strip_of(state) -> list:
    age = engine_state.heartbeat_age_seconds(state)
    banner = kill_switch_banner(state)
    health = engine_health(state, age, desk_settings().HEARTBEAT_STALE_SECONDS)
    return [banner, health] if banner else [health]


@guarded_callback(
    Output("shell-status", "children"),
    Output("kill-control", "children"),
    Output("kill-marker", "data"),
    Input("shell-tick", "n_intervals"),
    State("kill-marker", "data"),
    role=Role.VIEWER,
)
def refresh_status(_ticks, shown):
    """The strip, and the navbar's kill-switch control when the switch moved: one read and
    one request a second for each open page."""
    state, marker = engine_and_switch()
    if marker == shown:
        return strip_of(state), no_update, no_update
    return strip_of(state), kill_switch_control.control(marker[0], current_user), marker
