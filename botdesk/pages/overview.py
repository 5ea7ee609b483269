"""Overview: engine health, the kill switch, total equity and drawdown, today's P&L, open
positions, the wallet (each account's assets against the bots' books), bots by status,
the latest signals and risk events. Re-rendered only when something it shows changed (a
marker of indexed maxima, polled every two seconds)."""

from collections import Counter
from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from botdesk.app.components import (
    empty_state,
    format_age,
    format_money,
    format_quantity,
    format_time,
    signed_money,
    small_table,
    stat_card,
    status_badge,
)
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.equity_chart import equity_figure
from botdesk.app.render_once import RenderOnce
from botdesk.app.roles import guarded_callback
from botdesk.app.wallet_card import wallet_table
from botdesk.db import balances, engine_state, performance, portfolio
from botdesk.db.models import BotState, Role

dash.register_page(__name__, path="/", name="Overview", title="Overview · botdesk", order=0)

NO_BOTS = "No bots yet — an admin creates one on the Bots page."


LATEST = 5  # signals and risk events listed: the overview stays within one screen (1440x900)
PANEL_HEIGHT = 220  # px: the chart and the open positions beside it


def health_cards() -> dbc.Row:
    with desk_db().reading() as session:
        state = engine_state.get(session=session)
        age = engine_state.heartbeat_age_seconds(state)
    stale = age is None or age > desk_settings().HEARTBEAT_STALE_SECONDS
    heartbeat = stat_card(
        "Engine heartbeat",
        html.Span(format_age(age), className="text-danger" if stale else "text-success"),
        [
            html.Span(f"last beat {format_time(state.last_beat)}", id="overview-heartbeat-at"),
            html.Br(),
            f"engine {state.engine_id or '—'}",
        ],
        value_id="overview-heartbeat-age",
    )
    if state.kill_switch_engaged:
        kill = stat_card(
            "Kill switch",
            html.Span("ENGAGED", className="text-danger"),
            f"by {state.kill_switch_by} at {format_time(state.kill_switch_at)}: "
            f"{state.kill_switch_reason}",
            value_id="overview-kill-switch",
        )
    else:
        released = (
            f"last released by {state.released_by} at {format_time(state.released_at)}"
            if state.released_at
            else "never engaged"
        )
        kill = stat_card(
            "Kill switch",
            html.Span("Off", className="text-success"),
            released,
            value_id="overview-kill-switch",
        )
    return dbc.Row([dbc.Col(heartbeat, md=6), dbc.Col(kill, md=6)], className="g-3 h-100")


def summary(session) -> list:
    """Everything below the health cards, from one read snapshot."""
    lines = portfolio.bot_lines(session=session)
    today = portfolio.today(session=session)
    desk = performance.performance(session=session)
    names = portfolio.bot_names(session=session)
    signals = portfolio.latest_signals(session=session, limit=LATEST)
    events = portfolio.latest_risk_events(session=session, limit=LATEST)
    wallets = balances.wallets(session=session)
    equity = desk.equity
    day = f"market day {today.day:%Y-%m-%d} UTC" if today.day else "no trading yet"
    # one row: the engine's health (refreshed every second on its own) and the figures
    cards = dbc.Row(
        [
            dbc.Col(html.Div(health_cards(), id="overview-health", className="h-100"), lg=4),
            dbc.Col(
                stat_card(
                    "Total equity",
                    f"{equity:,.2f} USDT" if equity is not None else "—",
                    returns_line(desk) if equity is not None else "no equity yet",
                    value_id="overview-equity",
                ),
                lg=2,
                md=3,
            ),
            dbc.Col(
                stat_card(
                    "Realized P&L today",
                    signed_money(today.realized_pnl),
                    day,
                    value_id="overview-realized",
                ),
                lg=2,
                md=3,
            ),
            dbc.Col(
                stat_card(
                    "Unrealized P&L",
                    signed_money(today.unrealized_pnl),
                    "marked at the latest price",
                    value_id="overview-unrealized",
                ),
                lg=2,
                md=3,
            ),
            dbc.Col(
                stat_card(
                    "Open positions",
                    str(today.open_positions),
                    bots_by_status(lines),
                    value_id="overview-open-count",
                ),
                lg=2,
                md=3,
            ),
        ],
        className="g-2",
    )
    chart = (
        dcc.Graph(figure=equity_figure(desk, height=PANEL_HEIGHT), config={"displayModeBar": False})
        if desk.points
        else empty_state("No equity yet: it appears once a running bot has processed a candle.")
    )
    return [
        cards,
        dbc.Row(
            [
                dbc.Col(panel("Total equity and drawdown (last 7 days)", chart), lg=5),
                dbc.Col(panel("Open positions", positions_table(lines), scroll=True), lg=3),
                dbc.Col(panel("Wallet: held vs books", wallet_table(wallets), scroll=True), lg=4),
            ],
            className="g-2 mt-0",
        ),
        dbc.Row(
            [
                dbc.Col(panel("Latest signals", signals_table(signals, names)), lg=7),
                dbc.Col(panel("Latest risk events", events_table(events, names)), lg=5),
            ],
            className="g-2 mt-0",
        ),
    ]


def returns_line(desk) -> html.Span:
    """7 days' time-weighted return and drawdown, and the capital that came in or out."""
    parts = [
        f"return {desk.time_weighted_return * 100:+.2f} %",
        f" · drawdown {desk.drawdown * 100:.2f} %",
    ]
    if desk.net_flows:
        parts.append(f" · flows {desk.net_flows:+,.2f}")
    return html.Span(
        parts,
        id="overview-returns",
        title="Time-weighted over the last 7 days: capital added or taken out (bots "
        "created, deleted, capital changed) is a flow, never P&L.",
    )


def panel(title: str, body, scroll: bool = False) -> dbc.Card:
    """A titled card; `scroll` keeps a long list within the chart's height."""
    style = {"maxHeight": f"{PANEL_HEIGHT}px", "overflowY": "auto"} if scroll else None
    return dbc.Card(
        [
            dbc.CardHeader(title, className="small text-uppercase py-1"),
            dbc.CardBody(body, className="p-2", style=style),
        ],
        className="h-100",
    )


def bots_by_status(lines) -> html.Span:
    if not lines:
        return html.Span(NO_BOTS, id="overview-bots-by-status")
    counts = Counter(line.bot.status for line in lines)
    badges = [
        html.Span([status_badge(status), f" {counts[status]}"], className="me-2")
        for status in BotState
        if counts[status]
    ]
    return html.Span(badges, id="overview-bots-by-status")


def positions_table(lines) -> html.Div:
    held = [line for line in lines if line.position is not None]
    if not lines:
        return empty_state(NO_BOTS)
    if not held:
        return empty_state("No open position. Bots open them on their signals.")
    rows = [
        [
            html.Div(
                [
                    dcc.Link(line.bot.name, href=f"/bots/{line.bot.id}", className="text-nowrap"),
                    html.Div(line.position.symbol, className="small text-secondary"),
                ]
            ),
            format_quantity(line.position.quantity),
            format_money(line.position.entry_price, ""),
            signed_money(line.position.unrealized_pnl, ""),
        ]
        for line in held
    ]
    header = ["Bot", "Qty", "Entry", "P&L"]  # in USDT; unrealized: the positions are open
    return small_table(header, rows, {1, 2, 3})


def market_time(signal) -> datetime:
    """The candle a signal was decided on (the market's clock), else when it was written."""
    if signal.candle_open_ms is None:
        return signal.created_at
    return datetime.fromtimestamp(signal.candle_open_ms / 1000, UTC)


def signals_table(signals, names) -> html.Div:
    if not signals:
        return empty_state("No signal yet. Running bots signal on closed candles.")
    rows = [
        [
            html.Span(
                format_time(market_time(signal)).removesuffix(" UTC"), className="text-nowrap"
            ),
            names.get(signal.bot_id, f"#{signal.bot_id}"),
            signal.symbol,
            html.Span(
                signal.side, className="text-success" if signal.side == "buy" else "text-danger"
            ),
            f"{signal.confidence:.2f}",
            format_money(signal.price, ""),
            signal.status,
        ]
        for signal in signals
    ]
    header = ["Market time (UTC)", "Bot", "Symbol", "Side", "Conf.", "Price", "Status"]
    return small_table(header, rows, {4, 5}, id="overview-signals")


def events_table(events, names) -> html.Div:
    if not events:
        return empty_state("No risk event: nothing refused or breached.")
    rows = [
        [
            html.Span(format_time(event.at).removesuffix(" UTC"), className="text-nowrap"),
            html.Span(
                names.get(event.bot_id, "all") if event.bot_id else "all",
                className="text-nowrap",
            ),
            # one line each, cut with an ellipsis (the whole message on hover): the
            # severity's colour says how bad
            html.Div(
                event.message,
                title=event.message,
                className="one-line "
                + ("text-danger" if event.severity == "critical" else "text-warning"),
            ),
        ]
        for event in events
    ]
    return small_table(["Recorded (UTC)", "Bot", "What"], rows, id="overview-events")


# per worker: the summary by database and marker, the same for every role
SUMMARIES = RenderOnce()


def shown_summary(marker: list) -> tuple[list, list]:
    """(the marker shown, the summary): built once per worker for every user; while it is
    being built, the one before (the poll brings it up to date)."""
    return SUMMARIES.newest(desk_db().url, marker, built_summary)


def built_summary() -> list:
    with desk_db().reading() as session:
        return summary(session)


def layout(**_query):
    with desk_db().reading() as session:
        marker = portfolio.change_marker(session=session)
    marker, body = shown_summary(marker)
    return html.Div(
        [
            html.H1("Overview", className="h4 my-2"),
            html.Div(body, id="overview-summary"),
            dcc.Store(id="overview-marker", data=marker),
            dcc.Interval(id="overview-tick", interval=1000),
            dcc.Interval(id="overview-summary-tick", interval=2000),
        ]
    )


@guarded_callback(
    Output("overview-health", "children"), Input("overview-tick", "n_intervals"), role=Role.VIEWER
)
def refresh_health(_ticks):
    return health_cards()


@guarded_callback(
    Output("overview-summary", "children"),
    Output("overview-marker", "data"),
    Input("overview-summary-tick", "n_intervals"),
    State("overview-marker", "data"),
    role=Role.VIEWER,
    prevent_initial_call=True,  # the layout has just rendered it
)
def refresh_summary(_ticks, shown):
    with desk_db().reading() as session:
        marker = portfolio.change_marker(session=session)
    if marker == shown:
        raise PreventUpdate
    marker, body = shown_summary(marker)
    if marker == shown:
        raise PreventUpdate
    return body, marker
