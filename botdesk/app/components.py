"""Shared pieces of the desk: navbar, the engine/kill-switch status strip, cards, formats."""

from datetime import datetime
from decimal import Decimal

import dash_bootstrap_components as dbc
import plotly.io as pio
from dash import dcc, html

from botdesk.db.commands import MAX_REASON
from botdesk.db.models import EngineState, Environment, Role
from botdesk.formats import money_text, quantity_text

# Figures built as plain dicts (plotly.py's validation is slow on many traces) carry their
# template itself: plotly.js knows no template names. Dark, on the page's own background.
PLOT_TEMPLATE = pio.templates["plotly_dark"].to_plotly_json()
PLOT_TEMPLATE["layout"].update(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")


def navbar(pages: list[dict], user, controls: list | None = None) -> dbc.Navbar:
    """Links to the pages this user may open; admin-only pages under an "Admin" menu;
    `controls` (the kill switch) sit on the right, before the account menu."""
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in pages
        if page.get("role", Role.VIEWER) != Role.ADMIN
    ]
    admin_pages = [page for page in pages if page.get("role") == Role.ADMIN]
    if admin_pages:
        links.append(
            dbc.DropdownMenu(
                label="Admin",
                id="shell-admin-menu",
                nav=True,
                children=[
                    dbc.DropdownMenuItem(page["name"], href=page["relative_path"])
                    for page in admin_pages
                ],
            )
        )
    account = dbc.DropdownMenu(
        label=f"{user.username} · {user.role.value}",
        id="shell-account-menu",
        align_end=True,
        nav=True,
        children=[
            dbc.DropdownMenuItem("Account and two-factor", href="/account"),
            dbc.DropdownMenuItem("Sign out", href="/logout", external_link=True),
        ],
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("botdesk", href="/", className="brand"),
                dbc.Nav(links, className="me-auto", navbar=True),
                *(controls or []),
                dbc.Nav([account], navbar=True),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-0 border-bottom border-secondary",
    )


def date_input(component_id: str, **kwargs) -> dbc.Input:
    """A UTC day typed as 2026-11-21, as every date on the desk reads: not the browser's
    date input, which shows the locale's order (mm/dd/yyyy) whatever the desk says."""
    return dbc.Input(
        id=component_id,
        type="text",
        placeholder="YYYY-MM-DD",
        maxLength=10,
        autoComplete="off",
        **kwargs,
    )


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 60:
        return f"{seconds:.1f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def format_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def format_money(amount: Decimal | None, unit: str = "USDT", places: int = 2) -> str:
    return money_text(amount, unit, places)


def engine_health(state: EngineState, age: float | None, stale_after: int) -> dbc.Alert:
    """The heartbeat line: green while fresh, red and loud when stale or never seen."""
    if age is None:
        return dbc.Alert(
            [
                html.Strong("Engine not running. "),
                "No heartbeat yet: start it with ",
                html.Code("botdesk engine"),
                " (or ",
                html.Code("make run"),
                ").",
            ],
            color="danger",
            className="mb-0 py-2 rounded-0",
            id="shell-engine-stale",
        )
    if age > stale_after:
        return dbc.Alert(
            [
                html.Strong("Engine stale. "),
                f"Last heartbeat {format_age(age)} "
                f"({format_time(state.last_beat)}). Orders are not being managed.",
            ],
            color="danger",
            className="mb-0 py-2 rounded-0",
            id="shell-engine-stale",
        )
    return dbc.Alert(
        [
            html.Span("●", className="text-success me-2"),
            "Engine alive · heartbeat ",
            html.Span(format_age(age), id="shell-heartbeat-age"),
        ],
        color="dark",
        className="mb-0 py-1 rounded-0 small",
        id="shell-engine-ok",
    )


def kill_switch_banner(state: EngineState) -> dbc.Alert | None:
    if not state.kill_switch_engaged:
        return None
    mode = "halt and flatten" if state.kill_switch_flatten else "halt"
    return dbc.Alert(
        [
            html.Strong("KILL SWITCH ENGAGED"),
            f" ({mode}) by {state.kill_switch_by or '?'} at {format_time(state.kill_switch_at)}",
            html.Span(f" · reason: {state.kill_switch_reason or '—'}", className="ms-1"),
            html.Span(
                " · No order leaves the engine until an admin releases it.", className="ms-1"
            ),
        ],
        color="danger",
        className="mb-0 py-2 rounded-0 kill-switch-banner",
        id="shell-kill-switch-banner",
    )


def stat_card(title: str, value, detail=None, *, value_id: str | None = None) -> dbc.Card:
    body = [
        html.Div(title, className="text-secondary small text-uppercase"),
        html.Div(value, className="fs-4 fw-semibold", id=value_id)
        if value_id
        else html.Div(value, className="fs-4 fw-semibold"),
    ]
    if detail is not None:
        body.append(html.Div(detail, className="text-secondary small"))
    return dbc.Card(dbc.CardBody(body), className="h-100")


def not_allowed(role: str) -> html.Div:
    """An existing page the signed-in user's role may not open: say so (and which role
    may), rather than pretend the page does not exist."""
    return html.Div(
        [
            html.H2("Not allowed"),
            html.P(
                f"This page is for the {role} role; your account cannot open it. "
                "Ask an admin if you need it."
            ),
        ],
        className="p-4",
        id="page-not-allowed",
    )


def outcome_alert(message, ok: bool = True, **kwargs) -> dbc.Alert:
    """The answer to a form on a page: green when done, red with what to fix."""
    return dbc.Alert(message, color="success" if ok else "danger", className="py-2 mb-0", **kwargs)


def small_table(header: list[str], rows: list[list], numeric: set[int] | None = None, **kwargs):
    """A short read-only table (a few rows the page already holds); numeric columns right
    aligned with tabular figures."""
    numeric = numeric or set()

    def cell(tag, index, value):
        return tag(value, className="num text-nowrap" if index in numeric else None)

    return dbc.Table(
        [
            html.Thead(html.Tr([cell(html.Th, i, h) for i, h in enumerate(header)])),
            html.Tbody([html.Tr([cell(html.Td, i, v) for i, v in enumerate(row)]) for row in rows]),
        ],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
        **kwargs,
    )


def empty_state(message: str, **kwargs) -> html.P:
    """What to do when there is nothing to show yet."""
    return html.P(message, className="text-secondary mb-0 fst-italic", **kwargs)


def signed_money(amount, unit: str = "USDT", places: int = 2) -> html.Span:
    """Money coloured by sign: P&L."""
    if amount is None:
        return html.Span("—")
    color = "text-success" if amount > 0 else "text-danger" if amount < 0 else ""
    sign = "+" if amount > 0 else ""
    return html.Span(f"{sign}{format_money(amount, unit, places)}", className=color)


STATUS_COLORS = {
    "running": "success",
    "paused": "warning",
    "stopped": "secondary",
    "halted": "danger",
    "error": "danger",
}


def status_badge(status: str) -> dbc.Badge:
    return dbc.Badge(status, color=STATUS_COLORS.get(status, "secondary"))


def format_quantity(amount) -> str:
    """A quantity with its significant decimals (up to 8), never in exponent form."""
    return quantity_text(amount)


def confirm_dialog(
    dialog_id: str,
    title: str,
    body: list,
    *,
    cancel_id: str,
    confirm_id: str,
    confirm_label: str,
    color: str = "danger",
    **kwargs,
) -> dbc.Modal:
    """A closed modal asking to confirm an action: its body, Cancel and the action's button."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(title)),
            dbc.ModalBody(body),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=cancel_id, color="secondary"),
                    dbc.Button(confirm_label, id=confirm_id, color=color),
                ]
            ),
        ],
        id=dialog_id,
        is_open=False,
        **kwargs,
    )


def reason_field(field_id: str, label: str = "Reason (required, in the audit log)") -> list:
    # no maxlength: the browser would cut a longer reason silently; the server refuses it
    # with the limit (db.commands.MAX_REASON) instead
    return [
        dbc.Label(label, html_for=field_id),
        dbc.Textarea(id=field_id, rows=2),
        dbc.FormText(f"up to {MAX_REASON} characters"),
    ]


def environment_badge(environment: str | None) -> dbc.Badge:
    """Where a bot's orders go: LIVE (real money, red), testnet, or paper (no exchange)."""
    if environment == Environment.LIVE:
        return dbc.Badge("LIVE · real money", color="danger", className="env-live")
    if environment == Environment.TESTNET:
        return dbc.Badge("testnet", color="info", className="env-testnet")
    return dbc.Badge("paper", color="secondary", className="env-paper")


def followed_list(prefix: str, title: str, export_href: str, filters, tick_ms: int) -> html.Div:
    """A filtered list that follows new rows (the Audit log and Logs pages): title and
    Export CSV, the filter bar, a summary line, the rows, and the marker and tick its
    callbacks poll with. Ids carry the page's `prefix`."""
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H1(title, className="h3 my-3")),
                    dbc.Col(
                        dbc.Button(
                            "Export CSV",
                            id=f"{prefix}-export",
                            href=export_href,
                            external_link=True,
                            color="light",
                            outline=True,
                        ),
                        width="auto",
                        className="align-self-center",
                    ),
                ]
            ),
            filters,
            html.Div(id=f"{prefix}-summary", className="small text-secondary mb-2"),
            dbc.Card(dbc.CardBody(id=f"{prefix}-rows"), className="mb-3"),
            dcc.Store(id=f"{prefix}-marker"),
            dcc.Interval(id=f"{prefix}-tick", interval=tick_ms),
        ]
    )
