"""Orders: every order the engine placed or refused, with its state at the broker; a
manual entry on a bot, and cancelling one resting order (queued as engine commands)."""

from typing import Literal

from botdesk.app.api.commands import COMMAND_RESPONSE, accepted
from botdesk.app.api.inputs import Body, ListQuery, Name, Reason, RecordId, Symbol, UtcTime, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.manual import Amount, ExpiresAt, queue_manual
from botdesk.app.api.routing import ID, operation
from botdesk.app.api.rows import Resource
from botdesk.db import manual_orders
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Order, OrderStatus, Scope, Side

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


class NewOrder(Body):
    bot_id: RecordId
    side: Literal["buy"] = "buy"
    type: Literal["market", "limit"] = "market"
    price: Amount | None = None
    size: Literal["quote", "quantity", "risk"]
    amount: Amount | None = None
    stop: Amount | None = None
    take_profit: Amount | None = None
    time_in_force: Literal["GTC", "GTD"] = "GTC"
    expires_at: ExpiresAt | None = None
    reason: Reason


ENTRY_RESPONSE = {
    "type": "object",
    "properties": {
        "command": {"$ref": "#/components/schemas/Command"},
        "client_order_id": {"type": "string"},
    },
    "required": ["command", "client_order_id"],
}


@operation(
    "POST",
    "/orders",
    summary="Force an entry on a bot: market or limit, sized by quote, quantity or risk",
    tag="orders",
    scope=Scope.TRADE,
    response=ENTRY_RESPONSE,
    status=202,
    body=NewOrder,
    errors=(400, 404, 409),
    description="Queues `order.entry` for the engine, which sends a buy through the same "
    "order path as a strategy's (kill switch, dead man's switch, risk limits). `size`: "
    "`quote` (spend `amount` of the quote currency), `quantity` (buy `amount`), or `risk` "
    "(the bot's own risk sizing on `stop`; no amount). `type` market (on paper: at once at "
    "the latest price) or limit with its `price` (rests: `time_in_force` GTC, good till "
    "cancelled, or GTD, good till `expires_at`, a time after the market's newest candle). "
    "`stop` and "
    "`take_profit` protect the position once it fills. The bot must be running; `reason` "
    "is required. The order's `client_order_id` is in the answer; follow the command.",
)
def create_order(holder: KeyHolder, body: NewOrder):
    command = queue_manual(
        manual_orders.force_entry,
        holder,
        bot_id=body.bot_id,
        type=body.type,
        price=body.price,
        size=body.size,
        amount=body.amount,
        stop=body.stop,
        take_profit=body.take_profit,
        time_in_force=body.time_in_force,
        expires_at=body.expires_at,
        reason=body.reason,
    )
    client_order_id = manual_orders.manual_order_id(body.bot_id, command.id)
    return accepted(command, client_order_id=client_order_id)


class Cancel(Body):
    reason: Reason


@operation(
    "DELETE",
    f"/orders/<{ID}:order_id>",
    summary="Cancel one resting order",
    tag="orders",
    scope=Scope.TRADE,
    response=COMMAND_RESPONSE,
    status=202,
    body=Cancel,
    errors=(400, 404, 409),
    description='Queues `order.cancel`; the body carries the `{"reason"}` (required). A '
    "stop-loss or take-profit protecting a position is not cancelled this way: change the "
    "position's protection instead.",
)
def cancel_order(order_id: int, holder: KeyHolder, body: Cancel):
    command = queue_manual(
        manual_orders.cancel_order, holder, order_id=order_id, reason=body.reason
    )
    return accepted(command)
