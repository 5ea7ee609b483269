"""Audit log (admin): every sign-in, refusal, 2FA change, user change and control command,
newest first, with filters; Export CSV downloads what the filters select."""

import json

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from botdesk.app.components import date_input, followed_list, format_time
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback, restricted_layout
from botdesk.db import audit
from botdesk.db.audit import OUTCOMES, AuditFilter, BadFilter
from botdesk.db.models import AuditLog, Role

dash.register_page(
    __name__,
    path="/audit",
    name="Audit log",
    title="Audit log · botdesk",
    role=Role.ADMIN,
    order=92,
)

SHOWN = 200
ANY = "any"
EXPORT = "/export/audit_log.csv"
OUTCOME_COLORS = {"ok": "success", "refused": "danger", "failed": "warning"}


def details_text(row: AuditLog) -> str:
    if not row.details:
        return ""
    values = json.loads(row.details)
    return ", ".join(f"{key}={value}" for key, value in values.items() if value is not None)


def audit_table(rows: list[AuditLog]) -> dbc.Table:
    header = ("when (UTC)", "who", "action", "target", "outcome", "why", "from", "details")
    body = [
        html.Tr(
            [
                html.Td(format_time(row.at).removesuffix(" UTC"), className="text-nowrap"),
                html.Td(row.actor),
                html.Td(html.Code(row.action)),
                html.Td(row.target or ""),
                html.Td(dbc.Badge(row.outcome, color=OUTCOME_COLORS.get(row.outcome, "info"))),
                html.Td(row.reason or ""),
                html.Td(row.ip or ""),
                html.Td(details_text(row), className="small text-secondary"),
            ]
        )
        for row in rows
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0 audit-table",
    )


def choice(component_id: str, any_label: str, values) -> dbc.Select:
    options = [{"label": any_label, "value": ANY}] + [{"label": v, "value": v} for v in values]
    return dbc.Select(id=component_id, options=options, value=ANY)


def filter_bar() -> dbc.Row:
    with desk_db().reading() as db_session:
        actors = audit.distinct_values(session=db_session, column="actor")
        actions = audit.distinct_values(session=db_session, column="action")

    def labelled(label, control, width):
        return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width)

    return dbc.Row(
        [
            labelled(
                "Who",
                html.Div(
                    [
                        dbc.Input(id="audit-actor", list="audit-actors", placeholder="anyone"),
                        html.Datalist([html.Option(value=a) for a in actors], id="audit-actors"),
                    ]
                ),
                3,
            ),
            labelled("Action", choice("audit-action", "any action", actions), 3),
            labelled("Outcome", choice("audit-outcome", "any", OUTCOMES), 2),
            labelled("From (UTC)", date_input("audit-from"), 2),
            labelled("To (UTC)", date_input("audit-to"), 2),
        ],
        className="g-2 mb-3",
    )


@restricted_layout(Role.ADMIN)
def layout(**_query):
    return followed_list("audit", "Audit log", EXPORT, filter_bar(), 5000)


@guarded_callback(
    Output("audit-rows", "children"),
    Output("audit-summary", "children"),
    Output("audit-export", "href"),
    Output("audit-marker", "data"),
    Input("audit-actor", "value"),
    Input("audit-action", "value"),
    Input("audit-outcome", "value"),
    Input("audit-from", "value"),
    Input("audit-to", "value"),
    Input("audit-tick", "n_intervals"),
    State("audit-marker", "data"),
    role=Role.ADMIN,
)
def show(actor, action, outcome, since, until, _ticks, shown):
    chosen = {"actor": actor, "action": action, "outcome": outcome, "from": since, "to": until}
    try:
        filters = AuditFilter.from_query(
            {key: "" if value in (None, ANY) else value for key, value in chosen.items()}
        )
    except BadFilter as error:
        alert = dbc.Alert(str(error), color="danger", className="mb-0")
        return alert, "", dash.no_update, None
    with desk_db().reading() as db_session:
        marker = [filters.query_string(), audit.newest_id(session=db_session)]
        if marker == shown and set(ctx.triggered_prop_ids) == {"audit-tick.n_intervals"}:
            raise PreventUpdate  # the clock ticked, nothing was written: keep what is shown
        rows = audit.search(session=db_session, filters=filters, limit=SHOWN)
        total = audit.count(session=db_session, filters=filters)
    summary = f"{total} matching entries"
    if total > len(rows):
        summary += f"; the newest {len(rows)} are shown, Export CSV has them all"
    href = f"{EXPORT}?{filters.query_string()}" if filters.query_string() else EXPORT
    body = audit_table(rows) if rows else html.P("Nothing matches.", className="mb-0")
    return body, summary, href, marker
