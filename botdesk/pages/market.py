"""Market (/market): a symbol's candles with their SMC zones and liquidity, the volume
profile, the order flow (delta and cumulative delta), the multi-timeframe confluence score
with its components, and the structure summary; computed by the engine's analysis from the
stored candles, the same numbers the REST API answers."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from botdesk.app import market_view
from botdesk.app.components import empty_state
from botdesk.app.context import desk_db
from botdesk.app.market_data import (
    NoCandles,
    Window,
    read_window,
    reference_frame,
    stored_timeframes,
    timeframe_frames,
)
from botdesk.app.roles import guarded_callback
from botdesk.db import candles
from botdesk.db.models import Role
from botdesk.engine.analysis import NotEnoughHistory, read_timeframes, score_readings, smc_analysis
from botdesk.engine.timeframes import FILE_INTERVALS, timeframe_ms

dash.register_page(__name__, path="/market", name="Market", title="Market · botdesk", order=15)

CANDLES_SHOWN = 300
CONFLUENCE_CANDLES = 600  # of each timeframe, as the API reads by default
CONFLUENCE_TIMEFRAMES = 4  # the chosen one and the next longer ones stored
MIN_CANDLES = 50
SWING = 5
PREFERRED = ("BTCUSDT", "5m")


def _symbols() -> list[str]:
    with desk_db().reading() as session:
        return candles.symbols(session=session, timeframe=None)


def _timeframes(symbol: str | None) -> list[str]:
    if not isinstance(symbol, str):
        return []
    with desk_db().reading() as session:
        return list(stored_timeframes(session=session, symbol=symbol))


def _choices(values: list[str]) -> list[dict]:
    return [{"label": value, "value": value} for value in values]


def layout(**_query):
    symbols = _symbols()
    if not symbols:
        return html.Div(
            [
                html.H1("Market", className="h3 my-3"),
                empty_state(
                    "No candles are stored yet: they come with the engine's feed, or load "
                    "history with `botdesk data import` or `botdesk data download`.",
                    id="market-empty",
                ),
            ]
        )
    symbol = PREFERRED[0] if PREFERRED[0] in symbols else symbols[0]
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Market", className="h3 my-3 me-4"),
                    dbc.Select(
                        id="market-symbol",
                        options=_choices(symbols),
                        value=symbol,
                        style={"width": "12rem"},
                    ),
                    dbc.Select(
                        id="market-timeframe",
                        options=[],
                        style={"width": "8rem"},
                        className="ms-2",
                    ),
                ],
                className="d-flex align-items-center",
            ),
            dcc.Loading(html.Div(id="market-body"), type="dot"),
            dcc.Store(id="market-marker"),
            dcc.Interval(id="market-tick", interval=15_000),
        ]
    )


@guarded_callback(
    Output("market-timeframe", "options"),
    Output("market-timeframe", "value"),
    Input("market-symbol", "value"),
    State("market-timeframe", "value"),
    role=Role.VIEWER,
)
def choose_timeframes(symbol, current):
    """The symbol's stored timeframes; keep the one shown if the symbol has it."""
    stored = _timeframes(symbol)
    if not stored:
        return [], None
    if current in stored:
        return _choices(stored), current
    return _choices(stored), PREFERRED[1] if PREFERRED[1] in stored else stored[0]


def _confluence(session, symbol: str, timeframe: str, stored: list[str]):
    longer = [
        tf for tf in FILE_INTERVALS if tf in stored and timeframe_ms(tf) > timeframe_ms(timeframe)
    ]
    chosen = [timeframe, *longer[: CONFLUENCE_TIMEFRAMES - 1]]
    try:
        as_of, frames = timeframe_frames(
            session=session, symbol=symbol, timeframes=chosen, limit=CONFLUENCE_CANDLES
        )
        as_of, readings = read_timeframes(frames, as_of_ms=as_of, swing=SWING)
    except NoCandles as missing:
        return None, f"no {missing.timeframe} candles: the confluence needs them"
    except NotEnoughHistory as error:
        return None, str(error)
    return score_readings(readings, as_of_ms=as_of), None


def body(symbol: str, timeframe: str) -> list:
    with desk_db().reading() as session:
        frame = read_window(session=session, symbol=symbol, window=Window(timeframe, CANDLES_SHOWN))
        if len(frame) < MIN_CANDLES:
            return [
                empty_state(
                    f"{len(frame)} {timeframe} candles of {symbol} are stored; the analysis "
                    f"needs at least {MIN_CANDLES}.",
                    id="market-too-few",
                )
            ]
        reference = reference_frame(session, symbol, frame, timeframe)
        stored = list(stored_timeframes(session=session, symbol=symbol))
        found, why = _confluence(session, symbol, timeframe, stored)
    view = market_view.MarketView(frame, smc_analysis(frame, swing=SWING), found, why)
    flow = market_view.flow_figure(frame)
    flow_panel = (
        dcc.Graph(figure=flow, config={"displayModeBar": False}, id="market-flow-graph")
        if flow is not None
        else empty_state(
            "These candles carry no taker-buy volume, so there is no order flow: store "
            "klines with Binance's taker columns (the Binance feed, `botdesk data download`).",
            id="market-no-flow",
        )
    )
    chart = market_view.chart(view, SWING)
    return [
        dbc.Row(
            [
                dbc.Col(
                    dbc.Card(
                        dbc.CardBody(
                            dcc.Graph(
                                figure=chart, config={"displayModeBar": False}, id="market-chart"
                            )
                        )
                    ),
                    lg=9,
                ),
                dbc.Col(market_view.confluence_card(view), lg=3),
            ],
            className="g-3 my-1",
        ),
        dbc.Row(
            [
                dbc.Col(
                    dbc.Card(
                        dbc.CardBody(
                            [
                                html.H2("Order flow", className="h6 text-secondary text-uppercase"),
                                flow_panel,
                            ]
                        ),
                        id="market-flow",
                    ),
                    lg=9,
                ),
                dbc.Col(market_view.smc_card(view, reference), lg=3),
            ],
            className="g-3 mb-3",
        ),
    ]


@guarded_callback(
    Output("market-body", "children"),
    Output("market-marker", "data"),
    Input("market-symbol", "value"),
    Input("market-timeframe", "value"),
    Input("market-tick", "n_intervals"),
    State("market-marker", "data"),
    role=Role.VIEWER,
)
def show(symbol, timeframe, _ticks, shown):
    """Render the symbol and timeframe; on a tick only when a newer candle is stored."""
    if not isinstance(symbol, str) or not isinstance(timeframe, str):
        raise PreventUpdate
    if timeframe not in FILE_INTERVALS:
        raise PreventUpdate
    with desk_db().reading() as session:
        latest = candles.latest_open_ms(session=session, symbol=symbol, timeframe=timeframe)
    marker = [symbol, timeframe, latest]
    if marker == shown:
        raise PreventUpdate
    if latest is None:
        return [empty_state(f"No {timeframe} candles of {symbol}.", id="market-too-few")], marker
    return body(symbol, timeframe), marker
