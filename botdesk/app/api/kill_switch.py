"""The kill switch: its state, engaging it (trade scope), releasing it (admin scope)."""

from flask import jsonify, request
from pydantic import StrictBool

from botdesk.app.api.commands import accepted
from botdesk.app.api.errors import ApiError
from botdesk.app.api.idempotency import writing
from botdesk.app.api.inputs import Body, Reason
from botdesk.app.api.routing import operation
from botdesk.app.context import desk_db
from botdesk.db import kill_switch
from botdesk.db.api_keys import KeyHolder
from botdesk.db.kill_switch import KillSwitchError
from botdesk.db.models import Scope

STATE = {
    "type": "object",
    "properties": {
        "engaged": {"type": "boolean"},
        "flatten": {"type": "boolean"},
        "reason": {"type": ["string", "null"]},
        "engaged_by": {"type": ["string", "null"]},
        "engaged_at": {"type": ["string", "null"], "format": "date-time"},
        "command_id": {"type": ["integer", "null"]},
        "released_by": {"type": ["string", "null"]},
        "released_at": {"type": ["string", "null"], "format": "date-time"},
        "release_reason": {"type": ["string", "null"]},
    },
    "required": ["engaged", "reason", "engaged_by", "engaged_at"],
}
CHANGED = {
    "type": "object",
    "properties": {
        "kill_switch": STATE,
        "command": {"$ref": "#/components/schemas/Command"},
    },
    "required": ["kill_switch", "command"],
}


@operation(
    "GET",
    "/kill-switch",
    summary="Whether the kill switch is engaged, by whom, when and why",
    tag="kill switch",
    scope=Scope.READ,
    response=STATE,
)
def get_kill_switch(holder: KeyHolder):
    with desk_db().reading() as session:
        return jsonify(kill_switch.status(session=session).as_dict())


class Engage(Body):
    reason: Reason
    flatten: StrictBool = False


class Release(Body):
    reason: Reason


@operation(
    "POST",
    "/kill-switch",
    summary="Engage the kill switch: halt every bot, cancel every order (and flatten)",
    tag="kill switch",
    scope=Scope.TRADE,
    response=CHANGED,
    status=202,
    body=Engage,
    errors=(400,),
    description="Latched at once: no order leaves the engine until an admin releases it. "
    "With `flatten` every position is also closed at market.",
)
def engage_kill_switch(holder: KeyHolder, body: Engage):
    return _switch(kill_switch.engage, holder, body.reason, 202, 400, flatten=body.flatten)


@operation(
    "POST",
    "/kill-switch/release",
    summary="Release the kill switch (bots stay stopped until started)",
    tag="kill switch",
    scope=Scope.ADMIN,
    response=CHANGED,
    body=Release,
    errors=(400, 409),
)
def release_kill_switch(holder: KeyHolder, body: Release):
    return _switch(kill_switch.release, holder, body.reason, 200, 409)


def _switch(change, holder: KeyHolder, reason: str, status: int, refused: int, **options):
    """Engage or release as this key, answer the new state and the command (or refuse)."""
    try:
        with writing() as session:
            command = change(
                session=session,
                by=holder.actor,
                role=holder.acting_role,
                reason=reason,
                via="api",
                ip=request.remote_addr,
                user_id=holder.user_id,
                **options,
            )
            state = kill_switch.status(session=session).as_dict()
    except KillSwitchError as error:
        code = "invalid_body" if refused == 400 else "conflict"
        raise ApiError(refused, code, str(error)) from None
    response = accepted(command, kill_switch=state)
    response.status_code = status
    return response
