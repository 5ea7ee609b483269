"""Commands: what the engine was asked to do, and how far it got. Also how the API asks.

Control endpoints never call the engine: they queue a command row (with its audit row) and
answer 202 with it; the caller follows `GET /api/v1/commands/{id}` to see it finish.
"""

from typing import Literal

from flask import jsonify, request
from sqlmodel import Session

from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import ListQuery, Name, UtcTime, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.routing import ID, operation
from botdesk.app.api.rows import Resource
from botdesk.app.context import desk_db
from botdesk.db import commands
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Command, CommandStatus, Scope

COMMANDS = Resource("Command", Command, json_columns=frozenset({"params"}))
COMMAND_RESPONSE = {
    "type": "object",
    "properties": {"command": {"$ref": "#/components/schemas/Command"}},
    "required": ["command"],
}


def queue(
    *,
    session: Session,
    holder: KeyHolder,
    kind: str,
    target: str,
    params: dict | None = None,
    reason: str | None = None,
) -> Command:
    """Insert the command (and its audit row) in the caller's transaction, as this key."""
    return commands.issue(
        session=session,
        kind=kind,
        issued_by=holder.actor,
        via="api",
        target=target,
        params=params,
        reason=reason,
        ip=request.remote_addr,
        user_id=holder.user_id,
    )


def accepted(command: Command, **extra):
    response = jsonify(command=COMMANDS.to_json(command), **extra)
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/commands/{command.id}"
    return response


class CommandFilters(ListQuery):
    kind: Name | None = None
    status: one_of(CommandStatus) | None = None
    issued_via: Literal["desk", "cli", "api", "webhook", "engine"] | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None


list_endpoint(
    resource=COMMANDS,
    rule="/commands",
    tag="commands",
    summary="List commands (control actions and their progress)",
    filters=CommandFilters,
    time_column="created_at",
)


@operation(
    "GET",
    f"/commands/<{ID}:command_id>",
    summary="One command: pending, running, done or failed, with its result",
    tag="commands",
    scope=Scope.READ,
    response=COMMAND_RESPONSE,
    errors=(404,),
)
def get_command(command_id: int, holder: KeyHolder):
    with desk_db().reading() as session:
        command = session.get(Command, command_id)
    if command is None:
        raise ApiError(404, "not_found", f"no command {command_id}")
    return jsonify(command=COMMANDS.to_json(command))
