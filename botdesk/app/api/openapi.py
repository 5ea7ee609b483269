"""The OpenAPI 3.1 description of /api/v1, generated from the route table (`OPERATIONS`).

Paths, parameters, bodies, scopes and answers all come from the same declarations the
handlers are registered with; the row schemas come from the tables' columns.
"""

from copy import deepcopy

from flask import jsonify

from botdesk import __version__
from botdesk.app.api import idempotency
from botdesk.app.api.backtests import BACKTESTS
from botdesk.app.api.bots import BOTS
from botdesk.app.api.commands import COMMANDS
from botdesk.app.api.equity import CAPITAL_FLOWS, EQUITY
from botdesk.app.api.fills import FILLS
from botdesk.app.api.inputs import MAX_BODY_BYTES
from botdesk.app.api.orders import ORDERS
from botdesk.app.api.positions import POSITIONS
from botdesk.app.api.risk_events import RISK_EVENTS
from botdesk.app.api.routing import OPERATIONS, Operation, operation
from botdesk.app.api.signals import SIGNALS

RESOURCES = [
    BOTS,
    SIGNALS,
    POSITIONS,
    ORDERS,
    FILLS,
    EQUITY,
    CAPITAL_FLOWS,
    RISK_EVENTS,
    COMMANDS,
    BACKTESTS,
]
ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
ERROR_TEXT = {
    400: "Invalid parameters, body or cursor",
    401: "No key, or a key that is invalid, revoked, expired or whose owner is disabled",
    403: "The key's scope (cut down to its owner's role) is too small",
    404: "No such record (or no stored candles of the symbol)",
    409: "The record is not in a state that allows this",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes",
    422: "Too little stored history for this analysis, or candles without what it needs; "
    "or an Idempotency-Key first sent with another request",
    415: "A body sent as anything but application/json",
    429: "Too many refused keys from this address (on /stream also: this key holds its "
    "most streams): wait `Retry-After` seconds",
    503: "This desk worker holds its most streams: wait `Retry-After` seconds",
}
# gunicorn refuses a request line (method, path and query) over 4094 bytes itself, with a
# small HTML page, before botdesk sees the request.
TOO_LONG = {
    "description": "The path and query are longer than 4094 bytes (answered by the HTTP "
    "server, as HTML)",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _without_null(schema: dict) -> dict:
    """A query parameter is absent rather than null: drop pydantic's `null` alternative."""
    schema = {k: v for k, v in schema.items() if not (k == "default" and v is None)}
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        merged = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**options[0], **merged}
    return schema


def _parameters(op: Operation) -> list[dict]:
    parameters = [
        {"name": p.name, "in": "path", "required": True, "schema": dict(p.schema)}
        for p in op.path_parameters
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, field in schema["properties"].items():
            field = _without_null(field)
            field.pop("title", None)
            description = field.pop("description", None)
            parameter = {"name": name, "in": "query", "required": name in required}
            if description:
                parameter["description"] = description
            parameters.append({**parameter, "schema": field})
    if _idempotent(op):
        parameters.append(deepcopy(idempotency.PARAMETER))
    return parameters


def _idempotent(op: Operation) -> bool:
    return op.method in idempotency.METHODS and op.scope is not None


def _body(op: Operation) -> dict:
    schema = op.body.model_json_schema()
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        field.pop("title", None)
    return {
        "required": bool(schema.get("required")),
        "content": {"application/json": {"schema": schema}},
    }


def _responses(op: Operation) -> dict:
    content = {op.media_type: {"schema": deepcopy(op.response)}}
    if op.csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    responses = {str(op.status): {"description": "Success", "content": content}}
    errors = set(op.errors) | {429}  # refused keys are counted on every route
    if op.scope is not None:
        errors |= {401, 403}
    if op.body is not None:
        errors |= {400, 413, 415}
    if _idempotent(op):
        errors |= {400, 422}  # a malformed key; a key first sent with another request
    if any(p.schema["type"] == "string" for p in op.path_parameters):
        errors |= {400}  # a malformed text path parameter
    for status in sorted(errors):
        responses[str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if status in (429, 503):
            responses[str(status)]["headers"] = deepcopy(RETRY_AFTER)
    responses["414"] = deepcopy(TOO_LONG)
    return dict(sorted(responses.items()))


def _operation(op: Operation) -> dict:
    described = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": _responses(op),
        "security": [] if op.scope is None else [{"ApiKey": []}],
    }
    if op.description:
        described["description"] = op.description
    if op.scope is not None:
        described["x-scope"] = op.scope.value
    if op.body is not None:
        described["requestBody"] = _body(op)
    return described


def describe() -> dict:
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    schemas = {resource.name: resource.schema() for resource in RESOURCES}
    schemas["Error"] = ERROR
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "botdesk API",
            "version": __version__,
            "description": "Read what the engine does and control it. Send a key in the "
            "`X-API-Key` header; its scope (read, trade, admin) is cut down to its owner's "
            'current role. Errors are `{"error": {"code", "message"}}` with a 4xx. Every '
            "POST, PATCH and DELETE takes an `Idempotency-Key` header: a retry with the same "
            "key gets the first answer (marked `Idempotent-Replayed: true`), never a second "
            "effect.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }


@operation(
    "GET",
    "/openapi.json",
    summary="This description (no key needed)",
    tag="health",
    scope=None,
    response={"type": "object", "required": ["openapi", "paths"]},
)
def openapi_json():
    return jsonify(describe())
