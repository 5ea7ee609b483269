"""Fills: each execution of an order, with its price, fee and realized P&L."""

from botdesk.app.api.inputs import ListQuery, RecordId, Symbol, UtcTime, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.rows import Resource
from botdesk.db.models import Fill, Side

FILLS = Resource("Fill", Fill)


class FillFilters(ListQuery):
    bot_id: RecordId | None = None
    order_id: RecordId | None = None
    symbol: Symbol | None = None
    side: one_of(Side) | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None


list_endpoint(
    resource=FILLS,
    rule="/fills",
    tag="fills",
    summary="List fills",
    filters=FillFilters,
    time_column="filled_at",
)
