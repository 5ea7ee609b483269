"""Logs (admin): the warning and error lines of the engine, the desk and the watchdog (and
the engine's per-bot errors), kept in the database whatever machine wrote them. Filters by
process, level, bot and text; Follow shows new lines as they come; Export CSV downloads
what the filters select."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from botdesk.app.components import followed_list, format_time
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback, restricted_layout
from botdesk.db import log_entries
from botdesk.db.log_entries import LEVELS, PROCESSES, BadFilter, LogFilter
from botdesk.db.models import LogEntry, Role

dash.register_page(
    __name__, path="/logs", name="Logs", title="Logs · botdesk", role=Role.ADMIN, order=94
)

SHOWN = 300
ANY = "any"
EXPORT = "/export/log_entry.csv"
FOLLOW_MS = 2000
LEVEL_COLORS = {"WARNING": "warning", "ERROR": "danger", "CRITICAL": "danger"}


def lines_table(rows: list[LogEntry]) -> dbc.Table:
    header = ("when (UTC)", "process", "level", "bot", "logger", "message")
    body = [
        html.Tr(
            [
                html.Td(format_time(row.at).removesuffix(" UTC"), className="text-nowrap"),
                html.Td(row.process),
                html.Td(dbc.Badge(row.level, color=LEVEL_COLORS.get(row.level, "info"))),
                html.Td(row.bot_id if row.bot_id is not None else ""),
                html.Td(html.Code(row.logger)),
                html.Td(html.Pre(row.message, className="mb-0 small log-message")),
            ],
            title=row.host or "",
        )
        for row in rows
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
    )


def choice(component_id: str, any_label: str, values) -> dbc.Select:
    options = [{"label": any_label, "value": ANY}] + [{"label": v, "value": v} for v in values]
    return dbc.Select(id=component_id, options=options, value=ANY)


def filter_bar() -> dbc.Row:
    def labelled(label, control, width):
        return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width)

    return dbc.Row(
        [
            labelled("Process", choice("logs-process", "any process", PROCESSES), 2),
            labelled("Level", choice("logs-level", "warning and up", LEVELS), 2),
            labelled("Bot id", dbc.Input(id="logs-bot", placeholder="any bot"), 2),
            labelled("Text", dbc.Input(id="logs-text", placeholder="contains", debounce=True), 4),
            dbc.Col(
                dbc.Switch(id="logs-follow", label="Follow", value=True),
                md=2,
                className="align-self-end",
            ),
        ],
        className="g-2 mb-3",
    )


@restricted_layout(Role.ADMIN)
def layout(**_query):
    return followed_list("logs", "Logs", EXPORT, filter_bar(), FOLLOW_MS)


@guarded_callback(
    Output("logs-tick", "disabled"),
    Input("logs-follow", "value"),
    role=Role.ADMIN,
)
def follow(following):
    return not following


@guarded_callback(
    Output("logs-rows", "children"),
    Output("logs-summary", "children"),
    Output("logs-export", "href"),
    Output("logs-marker", "data"),
    Input("logs-process", "value"),
    Input("logs-level", "value"),
    Input("logs-bot", "value"),
    Input("logs-text", "value"),
    Input("logs-tick", "n_intervals"),
    State("logs-marker", "data"),
    role=Role.ADMIN,
)
def show(process, level, bot, text, _ticks, shown):
    chosen = {"process": process, "level": level, "bot": bot, "text": text}
    try:
        filters = LogFilter.from_query(
            {key: "" if value in (None, ANY) else str(value) for key, value in chosen.items()}
        )
    except BadFilter as error:
        return dbc.Alert(str(error), color="danger", className="mb-0"), "", dash.no_update, None
    with desk_db().reading() as db_session:
        marker = [filters.query_string(), log_entries.newest_id(session=db_session)]
        if marker == shown and set(ctx.triggered_prop_ids) == {"logs-tick.n_intervals"}:
            raise PreventUpdate  # nothing new was written
        rows = log_entries.search(session=db_session, filters=filters, limit=SHOWN)
    summary = f"the newest {len(rows)} matching lines" if rows else ""
    href = f"{EXPORT}?{filters.query_string()}" if filters.query_string() else EXPORT
    body = lines_table(rows) if rows else html.P("Nothing matches.", className="mb-0")
    return body, summary, href, marker
