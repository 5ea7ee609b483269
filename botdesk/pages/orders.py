"""Orders: every order the bots placed, its status and fill progress; filterable, exportable."""

import dash
from dash import html

from botdesk.app.grid import DeskGrid, GridColumn

dash.register_page(__name__, path="/orders", name="Orders", title="Orders · botdesk", order=40)

COLUMNS = [
    GridColumn("candle_open_ms", "Market time", "candle", unit="UTC", width=175),
    GridColumn("created_at", "Recorded", "time", unit="UTC", width=175),
    GridColumn("bot_id", "Bot", "bot", width=150),
    GridColumn("symbol", "Symbol", "choice", width=110),
    GridColumn("side", "Side", "choice", width=85),
    GridColumn("type", "Type", "choice", width=95),
    GridColumn("purpose", "Purpose", "choice", width=115),
    GridColumn("quantity", "Qty", "money", places=8, width=135),
    GridColumn("filled_quantity", "Filled", "money", places=8, width=135),
    GridColumn("average_price", "Avg price", "money", unit="USDT", width=160),
    GridColumn("stop_price", "Stop", "money", unit="USDT", width=120),
    GridColumn("status", "Status", "choice", width=120),
    GridColumn("broker", "Broker", "choice", width=95),
    GridColumn("client_order_id", "Client order id"),
]
ORDERS = DeskGrid(
    "orders",
    "order",
    COLUMNS,
    empty="No order yet. Bots place orders when their signals pass the risk checks.",
    height=640,
)


def layout(**_query):
    return html.Div([html.H1("Orders", className="h3 my-3"), ORDERS.layout()])
