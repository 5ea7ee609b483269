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
from botdesk.app.components import (
    empty_state,
    format_money,
    format_time,
    outcome_alert,
    small_table,
    stat_card,
)
from botdesk.app.context import desk_db
from botdesk.app.grid import DeskGrid, GridColumn
from botdesk.app.roles import guarded_callback
from botdesk.db import risk_limits, typed
from botdesk.db.models import Bot, RiskLimit, Role
from botdesk.db.risk_limits import KINDS, RiskLimitError
from botdesk.db.types import MAX_ID
from botdesk.engine.risk import measures  # pure reads of the ledger, no engine runtime

dash.register_page(__name__, path="/risk", name="Risk", title="Risk · botdesk", order=50)

GLOBAL = "global"
EVENTS = DeskGrid(
    "risk-events",
    "risk_event",
    [
        GridColumn("at", "Recorded", "time", unit="UTC", width=175),
        GridColumn("bot_id", "Bot", "bot", width=150),
        GridColumn("kind", "Event", "choice", width=130),
        GridColumn("rule", "Rule", "choice", width=190),
        GridColumn("severity", "Severity", "choice", width=110),
        GridColumn("message", "Reason"),
    ],
    empty="No risk event yet: every refused order, breach and circuit-breaker trip is listed here.",
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


def exposure_card(by_symbol: dict[str, Decimal], limit: Decimal | None) -> dbc.Card:
    """Open positions at market value: the total against the global limit, then by symbol."""
    total = sum(by_symbol.values(), Decimal(0))
    of_limit = (
        f"of {format_money(limit)} max total exposure"
        if limit is not None
        else ("no global max total exposure")
    )
    rows = [[symbol, format_money(value)] for symbol, value in by_symbol.items()]
    table = (
        small_table(["symbol", "market value"], rows, {1}, id="risk-exposure-table")
        if rows
        else empty_state("No open position: nothing exposed.")
    )
    return stat_card("Exposure", format_money(total), [of_limit, table], value_id="risk-exposure")


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
    return small_table(header, body, id="risk-limits-rows")


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
            EVENTS.layout(title="Risk events: every refusal and breach, with its reason"),
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
    exposure = exposure_card(by_symbol, desk.get("max_total_exposure"))
    summary = dbc.Row(
        [
            dbc.Col(daily_card(pnl, desk.get("daily_loss_limit"), now), md=5),
            dbc.Col(exposure, md=7),
        ],
        className="g-3",
    )
    table = limits_table(rows, bots) if rows else html.P("No limit is set.", className="mb-0")
    return summary, table


def _scope(value) -> int | None:
    if value in (None, "", GLOBAL):
        return None
    try:
        return typed.whole_number(value, field="scope", low=1, high=MAX_ID)
    except typed.Refused:
        raise RiskLimitError(f"unknown scope {typed.shown(value)!r}") from None


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
    where = "globally" if bot_id is None else f"for {bot_names().get(bot_id, f'bot {bot_id}')}"
    return outcome_alert(f"{shown} {verb} {where}."), (changed or 0) + 1
