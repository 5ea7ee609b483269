"""Positions: open and closed; selling all or part of one, and changing its stop-loss,
take-profit or trailing distance (each queued as an engine command)."""

from typing import Literal

from botdesk.app.api.commands import COMMAND_RESPONSE, accepted
from botdesk.app.api.inputs import Body, ListQuery, Reason, RecordId, Symbol, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.manual import Amount, ExpiresAt, queue_manual
from botdesk.app.api.routing import ID, operation
from botdesk.app.api.rows import Resource
from botdesk.db import manual_orders
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Position, PositionStatus, Scope

POSITIONS = Resource("Position", Position)


class PositionFilters(ListQuery):
    bot_id: RecordId | None = None
    symbol: Symbol | None = None
    status: one_of(PositionStatus) | None = None


list_endpoint(
    resource=POSITIONS,
    rule="/positions",
    tag="positions",
    summary="List positions",
    filters=PositionFilters,
)


class Close(Body):
    reason: Reason
    quantity: Amount | None = None
    percent: Amount | None = None
    type: Literal["market", "limit"] = "market"
    price: Amount | None = None
    time_in_force: Literal["GTC", "GTD"] = "GTC"
    expires_at: ExpiresAt | None = None


@operation(
    "POST",
    f"/positions/<{ID}:position_id>/close",
    summary="Sell a position, all of it or a part (quantity or percent), market or limit",
    tag="positions",
    scope=Scope.TRADE,
    response=COMMAND_RESPONSE,
    status=202,
    body=Close,
    errors=(400, 404, 409),
    description="Queues `position.close` for the engine; follow the command for the result. "
    "`reason` is required. Without `quantity` or `percent` the whole position is sold (its "
    "open orders cancelled first). `type` market (default: on paper, at once at the latest "
    "price) or limit with its `price` (rests until a candle trades through it, GTC or GTD "
    "until `expires_at`; the bot must be running or paused). An exit is never refused by "
    "the risk limits, but the kill switch and the dead man's switch hold it like any order.",
)
def close_position(position_id: int, holder: KeyHolder, body: Close):
    command = queue_manual(
        manual_orders.exit_position,
        holder,
        position_id=position_id,
        quantity=body.quantity,
        percent=body.percent,
        type=body.type,
        price=body.price,
        time_in_force=body.time_in_force,
        expires_at=body.expires_at,
        reason=body.reason,
    )
    return accepted(command)


class Protection(Body):
    reason: Reason
    stop: Amount | None = None
    take_profit: Amount | None = None
    trailing_percent: Amount | None = None
    trailing_atr: Amount | None = None


@operation(
    "PATCH",
    f"/positions/<{ID}:position_id>",
    summary="Change an open position's stop-loss, take-profit or trailing distance",
    tag="positions",
    scope=Scope.TRADE,
    response=COMMAND_RESPONSE,
    status=202,
    body=Protection,
    errors=(400, 404, 409),
    description="Queues `position.protect`. Only the fields sent change; `null` removes one. "
    "`stop` must be below the latest price and `take_profit` above it (else use an exit); "
    "`trailing_percent` (below 100) or `trailing_atr` (an ATR multiple) trail the stop up "
    "from the highest price. `reason` is required. An exchange broker replaces the "
    "protection it holds.",
)
def protect_position(position_id: int, holder: KeyHolder, body: Protection):
    changes = {
        field: getattr(body, field) for field in sorted(body.model_fields_set) if field != "reason"
    }
    command = queue_manual(
        manual_orders.change_protection,
        holder,
        position_id=position_id,
        changes=changes,
        reason=body.reason,
    )
    return accepted(command)
