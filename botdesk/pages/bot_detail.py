"""One bot (/bots/<id>): its own start, pause and stop (as on the Bots page), its chart
(candles, the strategy's indicators, signals, fills, fair value gaps, order blocks, volume
profile), its P&L, its equity with capital flows and time-weighted return, the
manual-trading panel (`botdesk.app.manual_orders`), and its orders and fills."""

import json
from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from botdesk.app import bot_controls, bot_form, candle_chart, manual_orders
from botdesk.app.components import (
    empty_state,
    environment_badge,
    format_money,
    format_quantity,
    signed_money,
    stat_card,
    status_badge,
)
from botdesk.app.context import desk_db
from botdesk.app.equity_chart import equity_figure
from botdesk.app.grid import DeskGrid
from botdesk.app.roles import guarded_callback
from botdesk.db import candles, performance, portfolio
from botdesk.db.models import Role
from botdesk.pages import fills, orders

dash.register_page(
    __name__,
    path_template="/bots/<bot_id>",
    name="Bot",
    title="Bot · botdesk",
    order=11,
    hidden=True,
)

CANDLES_SHOWN = 300
BOT_ORDERS = DeskGrid(
    "bot-orders",
    "order",
    [c for c in orders.COLUMNS if c.field != "bot_id"],
    empty="No order yet for this bot.",
    height=300,
)
BOT_FILLS = DeskGrid(
    "bot-fills",
    "fill",
    [c for c in fills.COLUMNS if c.field != "bot_id"],
    empty="No fill yet for this bot.",
    height=300,
)


def _bot_id(text) -> int | None:
    return int(text) if isinstance(text, (str, int)) and str(text).isdigit() else None


def chart(bot) -> html.Div:
    with desk_db().reading() as session:
        window = candles.recent(
            session=session, symbol=bot.symbol, timeframe=bot.timeframe, limit=CANDLES_SHOWN
        )
        if not window:
            return empty_state(
                f"No {bot.timeframe} candles of {bot.symbol} stored yet: they "
                "appear once the engine runs its feed."
            )
        first = window[0].open_time_ms
        signals = portfolio.bot_signals_since(session=session, bot_id=bot.id, since_ms=first)
        since = datetime.fromtimestamp(first / 1000, UTC)
        bot_fills = portfolio.bot_fills_since(session=session, bot_id=bot.id, since=since)
    try:
        params = json.loads(bot.params or "{}")
    except ValueError:
        params = {}
    figure = candle_chart.figure(
        candles=window, strategy=bot.strategy, params=params, signals=signals, fills=bot_fills
    )
    return dcc.Graph(figure=figure, config={"displayModeBar": False}, id="bot-chart-graph")


def summary(line) -> dbc.Row:
    bot, position = line.bot, line.position
    held = format_quantity(position.quantity) if position else "none"
    held_detail = f"{bot.symbol} @ {format_money(position.entry_price)}" if position else "flat"
    return dbc.Row(
        [
            dbc.Col(stat_card("Status", status_badge(bot.status), bot.status_reason or ""), md=3),
            dbc.Col(
                stat_card(
                    "P&L",
                    signed_money(line.pnl),
                    [
                        "realized ",
                        signed_money(line.realized_pnl),
                        " · unrealized ",
                        signed_money(line.unrealized_pnl),
                    ],
                    value_id="bot-pnl",
                ),
                md=3,
            ),
            dbc.Col(stat_card("Open position", held, held_detail), md=3),
            dbc.Col(stat_card("Capital", format_money(bot.capital)), md=3),
        ],
        className="g-3 mb-3",
    )


def equity_panel(found: performance.Performance) -> dbc.Card:
    """The bot's equity over the market's last 7 days, capital flows marked, and its
    time-weighted return and drawdown (capital added or taken out is not P&L)."""
    if not found.points:
        return dbc.Card(
            dbc.CardBody(empty_state("No equity yet: it appears once the bot processed a candle.")),
            className="mb-3",
        )
    figures = html.Div(
        [
            html.Span("Equity, last 7 days · ", className="text-secondary"),
            html.Span(
                f"return {found.time_weighted_return * 100:+.2f} % · drawdown "
                f"{found.drawdown * 100:.2f} % (max {found.max_drawdown * 100:.2f} %)",
                id="bot-returns",
                title="Time-weighted: capital added or taken out is a flow, never P&L.",
            ),
        ],
        className="small mb-2",
    )
    graph = dcc.Graph(
        figure=equity_figure(found), config={"displayModeBar": False}, id="bot-equity-graph"
    )
    return dbc.Card(dbc.CardBody([figures, graph]), className="mb-3")


def body(bot_id: int):
    with desk_db().reading() as session:
        lines = portfolio.bot_lines(session=session, bot_id=bot_id)
        found = performance.performance(session=session, bot_id=bot_id) if lines else None
        start_refused = bot_controls.start_refusal(session)
    if not lines:
        return None
    line = lines[0]
    bot = line.bot
    return [
        html.Div(
            [
                html.H1(bot.name, className="h3 my-3 me-3 d-inline-block text-break"),
                environment_badge(line.environment),
                html.Span(
                    f" {bot.strategy} ({bot_form.params_text(bot.params)}) · {bot.symbol} · "
                    f"{bot.timeframe}",
                    className="text-secondary ms-2 small",
                ),
                html.Span(
                    bot_controls.buttons(bot, start_refused, "bot-action"),
                    id="bot-controls",
                    className="ms-3 align-middle",
                ),
            ]
        ),
        summary(line),
        dbc.Card(dbc.CardBody(chart(bot)), className="mb-3"),
        equity_panel(found),
    ]


def layout(bot_id=None, **_query):
    number = _bot_id(bot_id)
    found = body(number) if number is not None else None
    if found is None:
        return html.Div(
            [html.H1("No such bot", className="h3 my-3"), dcc.Link("Back to Bots", href="/bots")],
            id="bot-missing",
        )
    with desk_db().reading() as session:
        marker = portfolio.bot_marker(session=session, bot_id=number)
    scope = {"bot_id": number}
    return html.Div(
        [
            html.Div(id="bot-control-result", className="mt-2"),
            html.Div(found, id="bot-body"),
            manual_orders.panel(number),
            BOT_ORDERS.layout(scope=scope, title="Orders"),
            BOT_FILLS.layout(scope=scope, title="Fills"),
            dcc.Store(id="bot-id", data=number),
            dcc.Store(id="bot-marker", data=marker),
            dcc.Interval(id="bot-tick", interval=3000),
        ]
    )


@guarded_callback(
    Output("bot-body", "children"),
    Output("bot-marker", "data"),
    Input("bot-tick", "n_intervals"),
    State("bot-id", "data"),
    State("bot-marker", "data"),
    role=Role.VIEWER,
)
def refresh(_ticks, bot_id, shown):
    if not isinstance(bot_id, int):
        raise PreventUpdate
    with desk_db().reading() as session:
        marker = portfolio.bot_marker(session=session, bot_id=bot_id)
    if marker == shown:
        raise PreventUpdate
    return body(bot_id), marker


@guarded_callback(
    Output("bot-control-result", "children"),
    Input({"type": "bot-action", "bot": ALL, "action": ALL}, "n_clicks"),
    role=Role.TRADER,
    prevent_initial_call=True,
)
def control(_clicks):
    """The bot's own start, pause and stop: the Bots page's commands and checks."""
    return bot_controls.pressed(prefix="bot")
