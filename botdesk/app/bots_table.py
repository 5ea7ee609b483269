"""The Bots page's table: each bot's status, broker, open position, P&L and controls.

It is built once per worker for each change of what it lists (a bot's state, a fill, a
position opened or closed, the kill switch) and role (the controls), and shared by every
open page; positions marked to a new price move only the P&L cells (`marked_pnl`).
"""

from decimal import Decimal

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.exceptions import PreventUpdate
from flask_login import current_user
from sqlmodel import select

from botdesk.app import bot_controls, bot_form
from botdesk.app.components import (
    empty_state,
    environment_badge,
    format_money,
    format_quantity,
    signed_money,
    small_table,
    status_badge,
)
from botdesk.app.context import desk_db
from botdesk.app.render_once import RenderOnce
from botdesk.db import kill_switch, portfolio
from botdesk.db.models import ACTIVE_BOT_STATES, Bot, Role

ACTIVE = ACTIVE_BOT_STATES


def marker() -> list:
    """Changes when the table's rows change: a bot's state, a fill, a position opened or
    closed, the kill switch; not when positions are marked (the P&L column follows those
    on its own, see marked_pnl)."""
    with desk_db().reading() as session:
        bots = session.exec(select(Bot.id, Bot.status, Bot.updated_at, Bot.name)).all()
        book = portfolio.book_marker(session=session)
        halted = kill_switch.status(session=session).engaged
    return [str(sorted(bots)), book, halted]


def marks_marker(session) -> list:
    return portfolio.open_positions_marker(session=session)


def controls(bot: Bot, start_refused: str | None = None) -> list:
    buttons = bot_controls.buttons(bot, start_refused, "bots-action")
    if current_user.allows(Role.ADMIN) and bot.status not in ACTIVE:  # stop it to change it
        buttons.append(
            dbc.Button(
                "Edit",
                id={"type": "bots-edit", "bot": bot.id},
                size="sm",
                color="info",
                outline=True,
                className="me-1",
            )
        )
        buttons.append(
            dbc.Button(
                "Delete",
                id={"type": "bots-delete", "bot": bot.id},
                size="sm",
                color="danger",
                outline=True,
            )
        )
    return buttons


# per worker: the table by database, role (the controls) and marker; realized P&L by
# the book (it moves only with a fill)
TABLES = RenderOnce()
REALIZED = RenderOnce()
ZERO = Decimal(0)


def shown_table(current: list) -> tuple:
    """(the marker shown, (the table, the marks its P&L column shows)) for `current`, the
    table's marker: built once per worker for every user of the same role; while it is
    being built, the one before (the poll brings it up to date)."""
    return TABLES.newest((desk_db().url, current_user.role.value), current, bots_table)


def pnl_cell(bot_id: int, amount) -> html.Span:
    return html.Span(signed_money(amount), id={"type": "bots-pnl", "bot": bot_id})


def bots_table() -> tuple:
    with desk_db().reading() as session:
        lines = portfolio.bot_lines(session=session)
        start_refused = bot_controls.start_refusal(session)
        marks = marks_marker(session)
    if not lines:
        hint = (
            "No bots yet — create one with New bot."
            if current_user.allows(Role.ADMIN)
            else "No bots yet — an admin creates one on this page."
        )
        return empty_state(hint, id="bots-empty"), marks
    rows = []
    for line in lines:
        bot, position = line.bot, line.position
        status = [status_badge(bot.status)]
        if bot.status_reason:
            status.append(html.Div(bot.status_reason, className="small text-secondary"))
        held = (
            f"{format_quantity(position.quantity)} @ {format_money(position.entry_price, '')}"
            if position
            else "—"
        )
        rows.append(
            [
                # a long name is cut with an ellipsis (the whole name in its tooltip), so
                # the controls stay in view
                dcc.Link(
                    bot.name,
                    href=f"/bots/{bot.id}",
                    id=f"bots-link-{bot.id}",
                    title=bot.name,
                    className="bot-name",
                ),
                html.Div(
                    [
                        bot.strategy,
                        html.Div(
                            bot_form.params_text(bot.params), className="small text-secondary"
                        ),
                    ]
                ),
                f"{bot.symbol} · {bot.timeframe}",
                environment_badge(line.environment),
                html.Div(status, id=f"bots-status-{bot.id}"),
                held,
                pnl_cell(bot.id, line.pnl),
                format_money(bot.capital),
                html.Div(controls(bot, start_refused), className="text-nowrap"),
            ]
        )
    header = [
        "Bot",
        "Strategy",
        "Market",
        "Broker",
        "Status",
        "Open position",
        "P&L",
        "Capital",
        "",
    ]
    return small_table(header, rows, {5, 6, 7}, id="bots-table"), marks


def marked_pnl(bot_ids: list[int], shown: list | None) -> tuple[list, list]:
    """(the P&L cells of `bot_ids`, the marks they show); PreventUpdate when the marks
    are those `shown`: realized P&L kept per worker until a fill, the open positions'
    unrealized read fresh."""
    with desk_db().reading() as session:
        marks = marks_marker(session)
        if marks == shown:
            raise PreventUpdate
        book = portfolio.book_marker(session=session)
        unrealized = portfolio.unrealized_by_bot(session=session)
    realized = REALIZED.get((desk_db().url, book), realized_by_bot)
    cells = [signed_money(realized.get(bot, ZERO) + unrealized.get(bot, ZERO)) for bot in bot_ids]
    return cells, marks


def realized_by_bot() -> dict:
    with desk_db().reading() as session:
        return portfolio.realized_by_bot(session=session)
