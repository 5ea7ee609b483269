"""Health: is the desk up, can it read the database, is the engine beating. No key needed."""

from flask import jsonify

from botdesk import __version__
from botdesk.app.api.routing import operation
from botdesk.app.context import desk_db, desk_settings
from botdesk.db import engine_state


@operation(
    "GET",
    "/health",
    summary="Desk, database and engine health (no key needed)",
    tag="health",
    scope=None,
    response={
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "version": {"type": "string"},
            "engine": {
                "type": "object",
                "properties": {
                    "alive": {"type": "boolean"},
                    "heartbeat_age_seconds": {"type": ["number", "null"]},
                },
                "required": ["alive", "heartbeat_age_seconds"],
            },
        },
        "required": ["status", "version", "engine"],
    },
)
def health():
    with desk_db().reading() as session:
        age = engine_state.heartbeat_age_seconds(engine_state.get(session=session))
    alive = age is not None and age <= desk_settings().HEARTBEAT_STALE_SECONDS
    return jsonify(
        status="ok",
        version=__version__,
        engine={"alive": alive, "heartbeat_age_seconds": age},
    )
