"""Fills: each execution with its price, fee and realized P&L; filterable, exportable."""

import dash
from dash import html

from botdesk.app.grid import DeskGrid, GridColumn

dash.register_page(__name__, path="/fills", name="Fills", title="Fills · botdesk", order=45)

COLUMNS = [
    GridColumn("filled_at", "Market time", "time", unit="UTC", width=175),
    GridColumn("bot_id", "Bot", "bot", width=150),
    GridColumn("symbol", "Symbol", "choice", width=110),
    GridColumn("side", "Side", "choice", width=85),
    GridColumn("quantity", "Qty", "money", places=8, width=140),
    GridColumn("price", "Price", "money", unit="USDT", width=140),
    GridColumn("fee_quote", "Fee", "money", unit="USDT", places=4, width=120),
    GridColumn("realized_pnl", "Realized P&L", "money", unit="USDT", signed=True, width=185),
    GridColumn("order_id", "Order", "int", width=100),
    GridColumn("trade_id", "Trade id"),
]
FILLS = DeskGrid(
    "fills",
    "fill",
    COLUMNS,
    empty="No fill yet. Orders fill at the next candle's open (paper) or on the exchange.",
    height=640,
)


def layout(**_query):
    return html.Div([html.H1("Fills", className="h3 my-3"), FILLS.layout()])
