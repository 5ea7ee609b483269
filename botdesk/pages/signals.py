"""Signals: what the strategies and TradingView alerts proposed and what became of it,
filterable by bot, symbol, side, status, confidence and date, exportable as CSV."""

import dash
from dash import html

from botdesk.app.grid import DeskGrid, GridColumn

dash.register_page(__name__, path="/signals", name="Signals", title="Signals · botdesk", order=20)

COLUMNS = [
    GridColumn("candle_open_ms", "Market time", "candle", unit="UTC", width=175),
    GridColumn("created_at", "Recorded", "time", unit="UTC", width=175),
    GridColumn("bot_id", "Bot", "bot", width=160),
    GridColumn("symbol", "Symbol", "choice", width=115),
    GridColumn("side", "Side", "choice", width=90),
    GridColumn("confidence", "Confidence", "number", width=125),
    GridColumn("price", "Price", "money", unit="USDT", width=130),
    GridColumn("stop", "Stop", "money", unit="USDT", width=130),
    GridColumn("take_profit", "Take-profit", "money", unit="USDT", width=165),
    GridColumn("status", "Status", "choice", width=110),
    GridColumn("reason", "Why"),
    GridColumn("status_reason", "Outcome"),
]
SIGNALS = DeskGrid(
    "signals",
    "signal",
    COLUMNS,
    empty="No signal yet. Running bots signal on closed candles (start one on Bots).",
    height=640,
)


def layout(**_query):
    return html.Div(
        [
            html.H1("Signals", className="h3 my-3"),
            html.P(
                "Filter in the row under the headers (bot by name; time as a UTC date "
                "range). Export CSV downloads exactly the filtered rows.",
                className="small text-secondary",
            ),
            SIGNALS.layout(),
        ],
        id="signals-page",
    )
