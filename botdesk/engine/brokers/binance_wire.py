"""Values as Binance's wire writes them: decimals without exponents, symbols split into
assets, order states, trades from `myTrades` or an order's FULL answer."""

from decimal import Decimal

from botdesk.db.assets import base_asset  # noqa: F401  (the brokers' name)
from botdesk.db.models import OrderStatus

CANCEL_REQUESTED = "cancel requested"  # an order's status_reason while its cancel is out
FINAL = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
STATUS_FROM_BINANCE = {
    "NEW": OrderStatus.OPEN,
    "PENDING_NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "PENDING_CANCEL": OrderStatus.OPEN,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}


def plain(value: Decimal) -> str:
    """A Decimal as Binance wants it: no exponent, no needless zeros."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def binance_trade(raw: dict, *, time_ms: int = 0) -> dict:
    """A trade as `myTrades` lists it, or a fill of an order's FULL answer (which names its
    id `tradeId` and carries no time: the answer's `time_ms`)."""
    return {
        "id": raw["id"] if "id" in raw else raw["tradeId"],
        "qty": Decimal(raw["qty"]),
        "price": Decimal(raw["price"]),
        "commission": Decimal(raw["commission"]),
        "commissionAsset": raw["commissionAsset"],
        "time": raw.get("time", time_ms),
    }
