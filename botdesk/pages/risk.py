"""Risk: today's P&L against the daily loss limit, exposure by symbol, the risk limits
(admins edit them here, validated and audited) and every risk event: each refusal with
its reason, each breach, circuit-breaker trip and dead man's switch refusal."""

from decimal import Decimal

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask_login import current_user
from sqlmodel import col, select

from botdesk.app import acting
from botdesk.app.components import format_money, format_time, outcome_alert, stat_card
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback
from botdesk.db import listing, risk_limits
from botdesk.db.models import Bot, RiskEvent, RiskLimit, Role
from botdesk.db.risk_limits import KINDS, RiskLimitError
from botdesk.engine.risk import measures  # pure reads of the ledger, no engine runtime

dash.register_page(__name__, path="/risk", name="Risk", title="Risk · botdesk", order=30)

EVENTS_SHOWN = 50
GLOBAL = "global"
SEVERITY_COLORS = {"critical": "danger", "warning": "warning", "info": "info"}


def _table(header: list[str], rows: list[list], table_id: str) -> dbc.Table:
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows]),
        ],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
        id=table_id,
    )


def daily_card(pnl: Decimal, limit: Decimal | None, now) -> dbc.Card:
    """Today's P&L of the desk (the UTC day of the engine's market clock), and how much of
    the global daily loss limit it has used."""
    if limit is None:
        detail = "no global daily loss limit"
        bar = None
    else:
        used = min(max(-pnl, Decimal(0)) / limit * 100, Decimal(100))
        color = "danger" if used >= 80 else "warning" if used >= 50 else "success"
        detail = f"{used:.0f}% of the {format_money(limit)} daily loss limit used"
        bar = dbc.Progress(value=float(used), color=color, id="risk-daily-bar", className="mt-2")
    value = html.Span(format_money(pnl), className="text-danger" if pnl < 0 else "text-success")
    day = f"{measures.day_start(now):%Y-%m-%d} UTC"
    return stat_card(f"P&L on {day}", value, [detail, bar], value_id="risk-daily-pnl")


def exposure_table(by_symbol: dict[str, Decimal], limit: Decimal | None) -> html.Div:
    total = sum(by_symbol.values(), Decimal(0))
    rows = [[symbol, format_money(value)] for symbol, value in by_symbol.items()]
    rows.append([html.B("total"), html.B(format_money(total))])
    caption = f"limit {format_money(limit)}" if limit is not None else "no global limit"
    return html.Div(
        [_table(["symbol", "market value"], rows, "risk-exposure-table"), html.Small(caption)]
    )


def limits_table(rows: list[RiskLimit], bots: dict[int, str]) -> dbc.Table:
    body = []
    for row in rows:
        kind = KINDS.get(row.kind)
        body.append(
            [
                "global" if row.bot_id is None else bots.get(row.bot_id, f"bot {row.bot_id}"),
                html.Span(kind.title if kind else row.kind, title=kind.meaning if kind else ""),
                html.Code(row.kind),
                f"{risk_limits.plain(row.value)} {kind.unit if kind else ''}",
                dbc.Badge("on", color="success") if row.enabled else dbc.Badge("off"),
                row.updated_by or "",
                format_time(row.updated_at),
            ]
        )
    header = ["scope", "limit", "kind", "value", "", "set by", "when"]
    return _table(header, body, "risk-limits-rows")


def events_table(events: list[RiskEvent], bots: dict[int, str]) -> dbc.Table:
    body = [
        [
            format_time(event.at).removesuffix(" UTC"),
            "desk" if event.bot_id is None else bots.get(event.bot_id, f"bot {event.bot_id}"),
            dbc.Badge(event.kind, color=SEVERITY_COLORS.get(event.severity, "secondary")),
            html.Code(event.rule or ""),
            event.message,
        ]
        for event in events
    ]
    return _table(["when (UTC)", "bot", "event", "rule", "reason"], body, "risk-events-rows")


def bot_names() -> dict[int, str]:
    with desk_db().reading() as session:
        return dict(session.exec(select(Bot.id, Bot.name).order_by(col(Bot.name))).all())


def edit_card() -> dbc.Card:
    bots = bot_names()
    scopes = [{"label": "global (all bots)", "value": GLOBAL}] + [
        {"label": name, "value": str(bot_id)} for bot_id, name in bots.items()
    ]
    kinds = [{"label": f"{k.title} ({k.unit})", "value": k.name} for k in KINDS.values()]
    return dbc.Card(
        [
            dbc.CardHeader("Set a limit (admins)"),
            dbc.CardBody(
                [
                    dbc.Label("Scope", html_for="risk-scope"),
                    dbc.Select(id="risk-scope", options=scopes, value=GLOBAL, className="mb-2"),
                    dbc.Label("Limit", html_for="risk-kind"),
                    dbc.Select(id="risk-kind", options=kinds, value="daily_loss_limit"),
                    dbc.Label("Value", html_for="risk-value", className="mt-2"),
                    dbc.Input(id="risk-value", placeholder="e.g. 500", className="mb-3"),
                    dbc.Button("Save", id="risk-save", color="primary", className="me-2"),
                    dbc.Button("Disable", id="risk-disable", color="secondary", outline=True),
                    html.Div(id="risk-limit-result", className="mt-3"),
                ]
            ),
        ]
    )


def layout(**_query):
    is_admin = current_user.is_authenticated and current_user.allows(Role.ADMIN)
    limits = dbc.Card(
        [dbc.CardHeader("Risk limits"), dbc.CardBody(id="risk-limits")], className="h-100"
    )
    return html.Div(
        [
            html.H1("Risk", className="h3 my-3"),
            html.Div(id="risk-summary", className="mb-3"),
            dbc.Row(
                [dbc.Col(limits, lg=8 if is_admin else 12)]
                + ([dbc.Col(edit_card(), lg=4)] if is_admin else []),
                className="g-3 mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        [
                            "Risk events: every refusal and breach, newest first ",
                            dbc.Button("Newer", id="risk-events-newer", size="sm", outline=True),
                            dbc.Button(
                                "Older",
                                id="risk-events-older",
                                size="sm",
                                outline=True,
                                className="ms-1",
                            ),
                        ]
                    ),
                    dbc.CardBody(id="risk-events"),
                ],
                className="mb-3",
            ),
            dcc.Store(id="risk-events-cursor", data={"pages": [None], "next": None}),
            dcc.Store(id="risk-limits-changed", data=0),
            dcc.Interval(id="risk-tick", interval=5000),
        ]
    )


@guarded_callback(
    Output("risk-summary", "children"),
    Output("risk-limits", "children"),
    Input("risk-tick", "n_intervals"),
    Input("risk-limits-changed", "data"),
    role=Role.VIEWER,
)
def show_summary(_ticks, _changed):
    with desk_db().reading() as session:
        desk = risk_limits.effective(session=session, bot_id=None).desk
        now = measures.market_now(session=session)
        pnl = measures.desk_daily_pnl(session=session, at=now)
        by_symbol = measures.exposure_by_symbol(session=session)
        rows = risk_limits.all_rows(session=session)
    bots = bot_names()
    exposure = stat_card(
        "Exposure by symbol", exposure_table(by_symbol, desk.get("max_total_exposure"))
    )
    summary = dbc.Row(
        [
            dbc.Col(daily_card(pnl, desk.get("daily_loss_limit"), now), md=5),
            dbc.Col(exposure, md=7),
        ],
        className="g-3",
    )
    table = limits_table(rows, bots) if rows else html.P("No limit is set.", className="mb-0")
    return summary, table


@guarded_callback(
    Output("risk-events", "children"),
    Output("risk-events-cursor", "data"),
    Input("risk-tick", "n_intervals"),
    Input("risk-events-older", "n_clicks"),
    Input("risk-events-newer", "n_clicks"),
    State("risk-events-cursor", "data"),
    role=Role.VIEWER,
)
def show_events(_ticks, _older, _newer, cursor):
    """Pages by id (keyset): "pages" holds the before-id of each page seen, newest first."""
    pages = list((cursor or {}).get("pages") or [None])
    following = (cursor or {}).get("next")
    if ctx.triggered_id == "risk-events-older" and following is not None:
        pages.append(following)
    elif ctx.triggered_id == "risk-events-newer" and len(pages) > 1:
        pages.pop()
    before = pages[-1] if isinstance(pages[-1], int) else None
    with desk_db().reading() as session:
        page = listing.page(
            session=session, table=RiskEvent, conditions=[], limit=EVENTS_SHOWN, before_id=before
        )
    if not page.rows:
        body = html.P("No risk event yet.", className="mb-0")
    else:
        body = html.Div(
            [
                events_table(page.rows, bot_names()),
                html.Small(f"page {len(pages)}", className="text-secondary"),
            ]
        )
    return body, {"pages": pages, "next": page.next_before_id}


def _scope(value) -> int | None:
    if value in (None, "", GLOBAL):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RiskLimitError(f"unknown scope {value!r}") from None


@guarded_callback(
    Output("risk-limit-result", "children"),
    Output("risk-limits-changed", "data"),
    Input("risk-save", "n_clicks"),
    Input("risk-disable", "n_clicks"),
    State("risk-scope", "value"),
    State("risk-kind", "value"),
    State("risk-value", "value"),
    State("risk-limits-changed", "data"),
    prevent_initial_call=True,
    role=Role.ADMIN,
)
def edit_limit(save, disable, scope, kind, value, changed):
    button = ctx.triggered_id
    if button not in ("risk-save", "risk-disable") or not (save or disable):
        raise PreventUpdate
    try:
        bot_id = _scope(scope)
        with desk_db().writing() as session:
            if button == "risk-save":
                row = risk_limits.set_limit(
                    session=session,
                    kind=kind or "",
                    value=value,
                    bot_id=bot_id,
                    by=current_user.username,
                )
                action = "risk_limit.set"
            else:
                row = risk_limits.disable_limit(
                    session=session, kind=kind or "", bot_id=bot_id, by=current_user.username
                )
                action = "risk_limit.disable"
            target = f"risk_limit:{row.kind}:{GLOBAL if bot_id is None else f'bot:{bot_id}'}"
            acting.record(session, action, target=target, details={"value": str(row.value)})
            shown = f"{row.kind} = {risk_limits.plain(row.value)} {KINDS[row.kind].unit}"
    except RiskLimitError as error:
        return outcome_alert(str(error), ok=False), dash.no_update
    verb = "set" if button == "risk-save" else "disabled"
    where = "globally" if bot_id is None else f"for bot {bot_id}"
    return outcome_alert(f"{shown} {verb} {where}."), (changed or 0) + 1
