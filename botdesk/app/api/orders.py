"""Orders: every order the engine placed or refused, with its state at the broker."""

from botdesk.app.api.inputs import ListQuery, Name, RecordId, Symbol, UtcTime, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.rows import Resource
from botdesk.db.models import Order, OrderStatus, Side

ORDERS = Resource("Order", Order)


class OrderFilters(ListQuery):
    bot_id: RecordId | None = None
    symbol: Symbol | None = None
    side: one_of(Side) | None = None
    status: one_of(OrderStatus) | None = None
    client_order_id: Name | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None


list_endpoint(
    resource=ORDERS,
    rule="/orders",
    tag="orders",
    summary="List orders",
    filters=OrderFilters,
    time_column="created_at",
)
