"""Positions: open and closed, and closing one at market (queued as an engine command)."""

from botdesk.app.api.commands import COMMAND_RESPONSE, accepted, queue
from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import Body, ListQuery, Reason, RecordId, Symbol, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.routing import ID, operation
from botdesk.app.api.rows import Resource
from botdesk.app.context import desk_db
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
    reason: Reason | None = None


@operation(
    "POST",
    f"/positions/<{ID}:position_id>/close",
    summary="Close a position at market",
    tag="positions",
    scope=Scope.TRADE,
    response=COMMAND_RESPONSE,
    status=202,
    body=Close,
    errors=(400, 404, 409),
    description="Queues `position.close` for the engine; follow the command for the result.",
)
def close_position(position_id: int, holder: KeyHolder, body: Close):
    with desk_db().writing() as session:
        position = session.get(Position, position_id)
        if position is None:
            raise ApiError(404, "not_found", f"no position {position_id}")
        if position.status != PositionStatus.OPEN:
            raise ApiError(409, "position_closed", f"position {position_id} is already closed")
        reason = body.reason or "closed through the API"
        command = queue(
            session=session,
            holder=holder,
            kind="position.close",
            target=f"position:{position.id}",
            params={"reason": reason},
            reason=reason,
        )
    return accepted(command)
