"""Overview: is the engine alive, is the kill switch engaged, what are the bots doing."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from botdesk.app.components import format_age, format_time, stat_card
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.roles import guarded_callback
from botdesk.db import engine_state
from botdesk.db.models import Role

dash.register_page(__name__, path="/", name="Overview", title="Overview · botdesk", order=0)


def health_cards() -> dbc.Row:
    with desk_db().reading() as session:
        state = engine_state.get(session=session)
        age = engine_state.heartbeat_age_seconds(state)
    stale = age is None or age > desk_settings().HEARTBEAT_STALE_SECONDS
    heartbeat = stat_card(
        "Engine heartbeat",
        html.Span(format_age(age), className="text-danger" if stale else "text-success"),
        [
            html.Span(f"last beat {format_time(state.last_beat)}", id="overview-heartbeat-at"),
            html.Br(),
            f"engine {state.engine_id or '—'}",
        ],
        value_id="overview-heartbeat-age",
    )
    if state.kill_switch_engaged:
        kill = stat_card(
            "Kill switch",
            html.Span("ENGAGED", className="text-danger"),
            f"by {state.kill_switch_by} at {format_time(state.kill_switch_at)}: "
            f"{state.kill_switch_reason}",
            value_id="overview-kill-switch",
        )
    else:
        released = (
            f"last released by {state.released_by} at {format_time(state.released_at)}"
            if state.released_at
            else "never engaged"
        )
        kill = stat_card(
            "Kill switch",
            html.Span("Off", className="text-success"),
            released,
            value_id="overview-kill-switch",
        )
    return dbc.Row([dbc.Col(heartbeat, md=4), dbc.Col(kill, md=4)], className="g-3")


def layout(**_query):
    return html.Div(
        [
            html.H1("Overview", className="h3 my-3"),
            html.Div(health_cards(), id="overview-health"),
            dcc.Interval(id="overview-tick", interval=1000),
        ]
    )


@guarded_callback(
    Output("overview-health", "children"), Input("overview-tick", "n_intervals"), role=Role.VIEWER
)
def refresh_health(_ticks):
    return health_cards()
