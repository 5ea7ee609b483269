"""The frame around every page: navbar, the engine and kill-switch strip, the page body.

The strip refreshes every second on every page, so a stale engine or an engaged kill
switch is never more than a second from the operator's eyes.
"""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html
from flask_login import current_user

from botdesk.app import kill_switch_control
from botdesk.app.components import engine_health, kill_switch_banner, navbar
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.roles import guarded_callback, pages_for
from botdesk.db import engine_state
from botdesk.db.models import Role


def layout():
    """Evaluated per request, so the navbar lists only what this user may open."""
    if not current_user.is_authenticated:  # the wall redirects first; this is a backstop
        return html.Div()
    return html.Div(
        [
            dcc.Location(id="shell-url"),
            navbar(pages_for(current_user), current_user, kill_switch_control.layout(current_user)),
            html.Div(status_strip(), id="shell-status"),
            dcc.Interval(id="shell-tick", interval=1000),
            dbc.Container(dash.page_container, fluid=True, className="page-body"),
        ]
    )


def status_strip() -> list:
    with desk_db().reading() as session:
        state = engine_state.get(session=session)
        age = engine_state.heartbeat_age_seconds(state)
    banner = kill_switch_banner(state)
    health = engine_health(state, age, desk_settings().HEARTBEAT_STALE_SECONDS)
    return [banner, health] if banner else [health]


@guarded_callback(
    Output("shell-status", "children"), Input("shell-tick", "n_intervals"), role=Role.VIEWER
)
def refresh_status(_ticks):
    return status_strip()
