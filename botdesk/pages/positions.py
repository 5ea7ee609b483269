"""Positions: the open ones, with what protects each (a trader closes one at market, with
a reason, through a `position.close` command) and every position ever held, filterable
and exportable."""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user
from sqlmodel import select

from botdesk.app import acting, position_details
from botdesk.app.components import (
    confirm_dialog,
    empty_state,
    format_money,
    format_quantity,
    format_time,
    outcome_alert,
    reason_field,
    signed_money,
    small_table,
)
from botdesk.app.context import desk_db
from botdesk.app.grid import MARKET_CLOCK, DeskGrid, GridColumn
from botdesk.app.protection_cell import protection_text
from botdesk.app.render_once import RenderOnce
from botdesk.app.roles import AccessRefused, guarded_callback, require_role
from botdesk.db import commands, portfolio, protections
from botdesk.db.models import Command, Position, PositionStatus, Protection, Role

dash.register_page(
    __name__, path="/positions", name="Positions", title="Positions · botdesk", order=30
)

# Market time: a position opens and closes on its fills, at the market's clock (the
# replayed candles' time on the replay feed). The columns a closed position is judged by
# (exit, realized, P&L %, fees) come first, so they are in view at 1440 px.
COLUMNS = [
    GridColumn("opened_at", "Opened", "time", unit=MARKET_CLOCK, width=170),
    GridColumn("bot_id", "Bot", "bot", width=140),
    GridColumn("symbol", "Symbol", "choice", width=120),
    GridColumn("status", "Status", "choice", width=120),
    GridColumn("closed_qty", "Qty", "derived", width=115),
    GridColumn("entry_price", "Entry", "money", unit="USDT", width=125),
    GridColumn("exit_price", "Exit (USDT)", "derived", width=115),
    GridColumn("realized_pnl", "Realized", "money", unit="USDT", signed=True, width=145),
    GridColumn("pnl_percent", "P&L %", "derived", width=90, signed=True),
    GridColumn("fees", "Fees", "money", unit="USDT", places=4, width=120),
    GridColumn("held", "Held", "derived", width=90),
    GridColumn("closed_at", "Closed", "time", unit=MARKET_CLOCK, width=170),
    GridColumn("close_reason", "Close reason", "derived_text"),
    GridColumn("unrealized_pnl", "Unrealized", "money", unit="USDT", signed=True, width=150),
]


def derive(session, found: list[Position], shown: list[dict]) -> None:
    """The cells worked out from each closed position's fills (an open one: what it holds)."""
    details = position_details.closed_positions(session=session, positions=found)
    for position, cells in zip(found, shown, strict=True):
        detail = details.get(position.id)
        if detail is None:  # open: what it holds now
            cells["closed_qty"] = format_quantity(position.quantity)
            continue
        cells["closed_qty"] = format_quantity(detail.quantity)
        cells["exit_price"] = format_money(detail.exit_price, "")
        if detail.pnl_percent is not None:
            cells["pnl_percent"] = f"{detail.pnl_percent:+.2f} %"
        cells["held"] = position_details.held_text(detail.held)
        cells["close_reason"] = detail.reason


POSITIONS = DeskGrid(
    "positions",
    "position",
    COLUMNS,
    empty="No position yet. Bots open positions when their buy signals pass the risk checks.",
    derive=derive,
)


def open_positions() -> list[Position]:
    with desk_db().reading() as session:
        query = select(Position).where(Position.status == PositionStatus.OPEN)
        return list(session.exec(query.order_by(Position.opened_at)))


def open_table(
    positions: list[Position], names: dict[int, str], held: dict[int, Protection] | None = None
):
    if not positions:
        return empty_state("No open position.")
    can_close = current_user.allows(Role.TRADER)
    rows = [
        [
            format_time(p.opened_at).removesuffix(" UTC"),
            dcc.Link(names.get(p.bot_id, f"#{p.bot_id}"), href=f"/bots/{p.bot_id}"),
            p.symbol,
            format_quantity(p.quantity),
            format_money(p.entry_price, ""),
            format_money(p.last_price, ""),
            format_money(p.stop_price, ""),
            protection_text(p, (held or {}).get(p.id)),
            signed_money(p.unrealized_pnl, ""),
            dbc.Button(
                "Close",
                id={"type": "positions-close", "position": p.id},
                color="danger",
                size="sm",
                outline=True,
            )
            if can_close
            else "",
        ]
        for p in positions
    ]
    opened = f"Opened ({MARKET_CLOCK})"
    header = [
        opened, "Bot", "Symbol", "Qty", "Entry", "Last", "Stop", "Protection", "Unrealized", "",
    ]  # fmt: skip
    plain = ("", opened, "Bot", "Symbol", "Qty", "Protection")
    return small_table(
        [h if h in plain else f"{h} (USDT)" for h in header],
        rows,
        {3, 4, 5, 6, 8},
        id="positions-open-table",
    )


# per worker: the open positions by database, role (the Close buttons) and marker
SECTIONS = RenderOnce()


def open_section(marker: list) -> tuple:
    """(the marker shown, the section): built once per worker for every user of the same
    role; while it is being built, the one before (the poll brings it up to date)."""
    return SECTIONS.newest((desk_db().url, current_user.role.value), marker, built_section)


def built_section():
    positions = open_positions()
    with desk_db().reading() as session:
        names = portfolio.bot_names(session=session)
        held = protections.newest_live(session=session, position_ids=[p.id for p in positions])
    return open_table(positions, names, held)


def close_dialog() -> dbc.Modal:
    body = [
        html.P(id="positions-close-what"),
        *reason_field("positions-reason"),
        html.Div(id="positions-close-error", className="mt-3"),
    ]
    return confirm_dialog(
        "positions-modal",
        "Close the position at market",
        body,
        cancel_id="positions-cancel",
        confirm_id="positions-confirm",
        confirm_label="Close position",
    )


def layout(**_query):
    with desk_db().reading() as session:
        marker = portfolio.open_positions_marker(session=session)
    marker, section = open_section(marker)
    return html.Div(
        [
            html.H1("Positions", className="h3 my-3"),
            html.H2("Open", className="h6"),
            html.Div(id="positions-result", className="mb-2"),
            dbc.Card(dbc.CardBody(section, id="positions-open"), className="mb-4"),
            POSITIONS.layout(title="All positions"),
            close_dialog() if current_user.allows(Role.TRADER) else None,
            dcc.Store(id="positions-target"),
            dcc.Store(id="positions-marker", data=marker),
            dcc.Interval(id="positions-tick", interval=2000),
        ]
    )


@guarded_callback(
    Output("positions-open", "children"),
    Output("positions-marker", "data"),
    Input("positions-tick", "n_intervals"),
    State("positions-marker", "data"),
    role=Role.VIEWER,
    prevent_initial_call=True,  # the layout has just rendered it
)
def refresh_open(_ticks, shown):
    with desk_db().reading() as session:
        marker = portfolio.open_positions_marker(session=session)
    if marker == shown:
        raise PreventUpdate
    marker, section = open_section(marker)
    if marker == shown:
        raise PreventUpdate
    return section, marker


@guarded_callback(
    Output("positions-modal", "is_open"),
    Output("positions-target", "data"),
    Output("positions-close-what", "children"),
    Input({"type": "positions-close", "position": ALL}, "n_clicks"),
    Input("positions-cancel", "n_clicks"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def open_dialog(_closes, _cancel):
    trigger = ctx.triggered_id
    if trigger == "positions-cancel":
        return False, None, ""
    if not isinstance(trigger, dict) or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    with desk_db().reading() as session:
        position = session.get(Position, trigger.get("position"))
        names = portfolio.bot_names(session=session)
    if position is None or position.status != PositionStatus.OPEN:
        raise PreventUpdate
    what = (
        f"{format_quantity(position.quantity)} {position.symbol} held by "
        f"{names.get(position.bot_id, position.bot_id)}, sold at market now."
    )
    return True, position.id, what


@guarded_callback(
    Output("positions-result", "children"),
    Output("positions-modal", "is_open", allow_duplicate=True),
    Output("positions-close-error", "children"),
    Input("positions-confirm", "n_clicks"),
    State("positions-target", "data"),
    State("positions-reason", "value"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def close_position(clicked, position_id, reason):
    if not clicked:
        raise PreventUpdate
    try:
        require_role(Role.TRADER, "position close")
    except AccessRefused as refused:
        return no_update, no_update, outcome_alert(str(refused), ok=False)
    try:
        reason = commands.clean_reason(reason)
    except commands.BadReason as error:
        return no_update, no_update, outcome_alert(f"Not closed: {error}.", ok=False)
    if not isinstance(position_id, int):
        return no_update, no_update, outcome_alert("Choose a position to close.", ok=False)
    with desk_db().writing() as session:
        position = session.get(Position, position_id)
        if position is None or position.status != PositionStatus.OPEN:
            return no_update, no_update, outcome_alert("That position is not open.", ok=False)
        command: Command = acting.issue_command(
            session,
            "position.close",
            target=f"position:{position.id}",
            reason=reason,
            params={"reason": reason},
        )
    done = outcome_alert(
        f"Close of position {position_id} queued (command {command.id}); "
        "the engine sells at market.",
        id="positions-queued",
    )
    return done, False, None
