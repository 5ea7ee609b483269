"""Notifications (admin): the channels alerts go to (Apprise URLs, stored encrypted, shown
masked), a Test button, and every delivery with its status: queued, sending, sent, or
failed after its tries. The watchdog process sends them; this page only reads and writes
rows (the Test button sends its one message itself)."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app.components import empty_state, format_time, outcome_alert
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.roles import guarded_callback, restricted_layout
from botdesk.db import notification_channels, notifications
from botdesk.db.models import NotificationChannel, Role
from botdesk.db.notification_channels import ChannelError
from botdesk.db.notification_kinds import KINDS, SEVERITIES

dash.register_page(
    __name__,
    path="/notifications",
    name="Notifications",
    title="Notifications · botdesk",
    role=Role.ADMIN,
    order=93,
)

REFRESH_MS = 3000
STATUS_COLORS = {"queued": "secondary", "sending": "info", "sent": "success", "failed": "danger"}


def channels_table(channels: list[NotificationChannel]):
    if not channels:
        return empty_state("No channel yet: alerts are kept, and sent once a channel exists.")
    header = ("name", "URL", "events", "least severity", "added")
    body = [
        html.Tr(
            [
                html.Td(channel.name),
                html.Td(html.Code(channel.url_masked)),
                html.Td(channel.events.replace(",", ", ") if channel.events else "all"),
                html.Td(channel.min_severity),
                html.Td(f"{format_time(channel.created_at)} by {channel.created_by}"),
            ]
        )
        for channel in channels
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)],
        size="sm",
        responsive=True,
        className="mb-0",
    )


def current_channels() -> list[NotificationChannel]:
    with desk_db().reading() as db_session:
        return notification_channels.all_channels(session=db_session)


def channel_options(channels: list[NotificationChannel]) -> list[dict]:
    return [{"label": channel.name, "value": channel.name} for channel in channels]


def deliveries_view():
    with desk_db().reading() as db_session:
        lines = notifications.recent_deliveries(session=db_session, limit=100)
        counts = notifications.counts_by_status(session=db_session)
    summary = html.P(
        [
            dbc.Badge(f"{status} {number}", color=STATUS_COLORS[status], className="me-1")
            for status, number in counts.items()
        ],
        id="notifications-counts",
        className="mb-2",
    )
    if not lines:
        return [summary, empty_state("Nothing delivered yet.")]
    header = ("event at", "kind", "title", "channel", "status", "tries", "next try", "last error")
    rows = [
        html.Tr(
            [
                html.Td(format_time(line.at)),
                html.Td(line.kind),
                html.Td(line.title),
                html.Td(line.channel),
                html.Td(dbc.Badge(line.status, color=STATUS_COLORS[line.status])),
                html.Td(line.attempts, className="num"),
                html.Td(format_time(line.next_attempt_at) if line.next_attempt_at else ""),
                html.Td(line.last_error or "", className="small text-secondary"),
            ],
            title=f"event id {line.dedupe_id}",
        )
        for line in lines
    ]
    table = dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
        size="sm",
        responsive=True,
        className="mb-0",
    )
    return [summary, table]


def add_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Add a channel"),
            dbc.CardBody(
                [
                    dbc.Input(
                        id="notifications-name",
                        placeholder="name, e.g. ops-telegram",
                        className="mb-2",
                    ),
                    dbc.Input(
                        id="notifications-url",
                        type="password",
                        placeholder="Apprise URL: tgram://TOKEN/CHAT_ID, mailto://..., json://...",
                        autoComplete="new-password",
                        className="mb-2",
                    ),
                    dbc.Label("Events (none ticked: every kind)", className="small"),
                    dbc.Checklist(
                        id="notifications-events",
                        options=[
                            {"label": kind, "value": kind} for kind in KINDS if kind != "test"
                        ],
                        value=[],
                        inline=True,
                        className="small mb-2",
                    ),
                    dbc.Label("Least severity", className="small"),
                    dbc.Select(
                        id="notifications-severity",
                        options=[{"label": s, "value": s} for s in SEVERITIES],
                        value="info",
                        className="mb-2",
                    ),
                    html.P(
                        [
                            "Any service Apprise knows: see ",
                            html.A(
                                "its URL formats",
                                href="https://github.com/caronc/apprise/wiki",
                                target="_blank",
                                rel="noopener",
                            ),
                            ". The URL is stored encrypted and only ever shown masked.",
                        ],
                        className="small text-secondary",
                    ),
                    dbc.Button("Add channel", id="notifications-add", color="primary"),
                ]
            ),
        ],
        className="h-100",
    )


def manage_card(channels: list[NotificationChannel]) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Test or remove a channel"),
            dbc.CardBody(
                [
                    dbc.Select(
                        id="notifications-target",
                        options=channel_options(channels),
                        placeholder="choose a channel",
                        className="mb-2",
                    ),
                    dbc.Button(
                        "Test", id="notifications-test", color="secondary", className="me-2"
                    ),
                    dbc.Button("Remove", id="notifications-remove", color="danger"),
                ]
            ),
        ],
        className="h-100",
    )


@restricted_layout(Role.ADMIN)
def layout(**_query):
    channels = current_channels()
    return html.Div(
        [
            html.H1("Notifications", className="h3 my-3"),
            dbc.Card(
                dbc.CardBody(channels_table(channels), id="notifications-table"),
                className="mb-3",
            ),
            html.Div(id="notifications-result", className="mb-3"),
            dbc.Row(
                [dbc.Col(add_card(), lg=7), dbc.Col(manage_card(channels), lg=5)],
                className="g-3 mb-3",
            ),
            html.H2("Deliveries", className="h5"),
            dcc.Interval(id="notifications-refresh", interval=REFRESH_MS),
            html.Div(deliveries_view(), id="notifications-deliveries"),
        ]
    )


def _who() -> dict:
    return {"by": current_user.username, "ip": request.remote_addr, "user_id": current_user.id}


def add_channel(name, url, events, severity) -> str:
    with desk_db().writing() as db_session:
        channel = notification_channels.add(
            session=db_session,
            name=name,
            url=url,
            events=events or [],
            min_severity=severity,
            settings=desk_settings(),
            **_who(),
        )
    return f"Added {channel.name}: {channel.url_masked}."


def remove_channel(name) -> str:
    if not name:
        raise ChannelError("Choose a channel first.")
    with desk_db().writing() as db_session:
        notification_channels.remove(session=db_session, name=name, **_who())
    return f"Removed {name}."


def test_channel(name) -> str:
    from botdesk.alerts.channel_test import send_test

    if not name:
        raise ChannelError("Choose a channel first.")
    result = send_test(desk_db(), desk_settings(), name=name, **_who())
    if not result.ok:
        raise ChannelError(
            f"The test message to {name} was not delivered: {result.error}. "
            "The watchdog tries it again with backoff."
        )
    return f"Test message delivered to {name} (event {result.dedupe_id})."


@guarded_callback(
    Output("notifications-table", "children"),
    Output("notifications-target", "options"),
    Output("notifications-result", "children"),
    Output("notifications-url", "value"),
    Output("notifications-name", "value"),
    Input("notifications-add", "n_clicks"),
    Input("notifications-remove", "n_clicks"),
    Input("notifications-test", "n_clicks"),
    State("notifications-name", "value"),
    State("notifications-url", "value"),
    State("notifications-events", "value"),
    State("notifications-severity", "value"),
    State("notifications-target", "value"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def change(add, remove, test, name, url, events, severity, target):
    button = ctx.triggered_id
    actions = {
        "notifications-add": lambda: add_channel(name, url, events, severity),
        "notifications-remove": lambda: remove_channel(target),
        "notifications-test": lambda: test_channel(target),
    }
    if not (add or remove or test) or button not in actions:
        raise PreventUpdate
    unchanged = dash.no_update
    try:
        message = actions[button]()
    except ChannelError as error:
        # the URL field is emptied either way: a secret never travels back to the browser
        return unchanged, unchanged, outcome_alert(str(error), ok=False), "", unchanged
    channels = current_channels()
    done = outcome_alert(message)
    name_value = "" if button == "notifications-add" else unchanged
    return channels_table(channels), channel_options(channels), done, "", name_value


@guarded_callback(
    Output("notifications-deliveries", "children"),
    Input("notifications-refresh", "n_intervals"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def refresh(_ticks):
    return deliveries_view()
