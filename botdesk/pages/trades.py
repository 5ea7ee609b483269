"""Trades: one row per round trip (entry and exit, price, quantity, P&L and P&L %, fees,
duration, the entry signal and the exit reason, partial exits below their trade) and each
bot's performance, from the fills; filters by bot, symbol, status and entry day; Export
CSV downloads the chosen trades or the figures."""

from functools import lru_cache

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from botdesk.app import trade_exports, trade_views
from botdesk.app.components import date_input
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback
from botdesk.db import portfolio, trades
from botdesk.db.models import Role

dash.register_page(__name__, path="/trades", name="Trades", title="Trades · botdesk", order=32)

SHOWN = 100  # trades listed; Export CSV has them all
ANY = "any"
EXPORT = "/export/trade.csv"
PERFORMANCE_EXPORT = "/export/trade_performance.csv"


def _export_button(label: str, component_id: str, href: str) -> dbc.Button:
    return dbc.Button(
        label, id=component_id, href=href, external_link=True, color="light", outline=True,
        className="ms-2",
    )  # fmt: skip


def filter_bar() -> dbc.Row:
    with desk_db().reading() as session:
        names = portfolio.bot_names(session=session)
    bots = [{"label": "every bot", "value": ANY}] + [
        {"label": name, "value": str(bot_id)}
        for bot_id, name in sorted(names.items(), key=lambda item: item[1])
    ]
    statuses = [{"label": label, "value": value} for label, value in
                (("open and closed", ANY), ("closed", "closed"), ("open", "open"))]  # fmt: skip

    def labelled(label, control, width):
        return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width)

    return dbc.Row(
        [
            labelled("Bot", dbc.Select(id="trades-bot", options=bots, value=ANY), 3),
            labelled("Symbol", dbc.Input(id="trades-symbol", placeholder="any"), 2),
            labelled("Status", dbc.Select(id="trades-status", options=statuses, value=ANY), 2),
            labelled("Entered from (UTC)", date_input("trades-from"), 2),
            labelled("to (UTC)", date_input("trades-to"), 2),
        ],
        className="g-2 mb-3",
    )


def layout(**_query):
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H1("Trades", className="h3 my-3")),
                    dbc.Col(
                        [
                            _export_button("Export trades CSV", "trades-export", EXPORT),
                            _export_button(
                                "Export figures CSV",
                                "trades-performance-export",
                                PERFORMANCE_EXPORT,
                            ),
                        ],
                        width="auto",
                        className="align-self-center",
                    ),
                ]
            ),
            filter_bar(),
            dbc.Card(
                [
                    dbc.CardHeader(
                        "Performance per bot (closed trades)", className="small text-uppercase py-1"
                    ),
                    dbc.CardBody(id="trades-performance", className="p-2"),
                ],
                className="mb-3",
            ),
            html.Div(id="trades-summary", className="small text-secondary mb-2"),
            dbc.Card(dbc.CardBody(id="trades-rows", className="p-2"), className="mb-3"),
            dcc.Store(id="trades-marker"),
            dcc.Interval(id="trades-tick", interval=3000),
        ]
    )


@lru_cache(maxsize=32)
def _performance(db, chosen: trades.TradeFilter, newest_fill_id: int) -> list:
    """Each bot's figures once per worker for every page open on the same filters, until a
    fill is booked (every open page refreshes then: filtered by symbol or entry day, the
    figures read every chosen closed position, hundreds of milliseconds with many bots)."""
    with db.reading() as session:
        return trades.performance(session=session, chosen=chosen)


@guarded_callback(
    Output("trades-rows", "children"),
    Output("trades-performance", "children"),
    Output("trades-summary", "children"),
    Output("trades-export", "href"),
    Output("trades-performance-export", "href"),
    Output("trades-marker", "data"),
    Input("trades-bot", "value"),
    Input("trades-symbol", "value"),
    Input("trades-status", "value"),
    Input("trades-from", "value"),
    Input("trades-to", "value"),
    Input("trades-tick", "n_intervals"),
    State("trades-marker", "data"),
    role=Role.VIEWER,
)
def show(bot, symbol, status, since, until, _ticks, shown):
    values = {"bot": bot, "symbol": symbol, "status": status, "from": since, "to": until}
    try:
        chosen = trade_exports.chosen_from(
            {key: "" if value in (None, ANY) else value for key, value in values.items()}
        )
    except trade_exports.BadTradeFilter as error:
        alert = dbc.Alert(
            str(error).capitalize(), color="danger", className="mb-0", id="trades-bad-filter"
        )
        return alert, "", "", dash.no_update, dash.no_update, None
    query = trade_exports.query_string(chosen)
    with desk_db().reading() as session:
        marker = [query, trades.newest_fill_id(session=session)]
        if marker == shown and set(ctx.triggered_prop_ids) == {"trades-tick.n_intervals"}:
            raise PreventUpdate  # nothing was booked since: keep what is shown
        page = trades.trades(session=session, chosen=chosen, limit=SHOWN)
    figures = _performance(desk_db(), chosen, marker[1])
    summary = f"{len(page.trades)} trades, newest entry first"
    if page.next_before_id is not None:
        summary = f"The newest {SHOWN} trades are shown; Export trades CSV has them all"
    suffix = f"?{query}" if query else ""
    return (
        trade_views.trades_table(page.trades),
        trade_views.performance_table(figures),
        summary,
        EXPORT + suffix,
        PERFORMANCE_EXPORT + suffix,
        marker,
    )
