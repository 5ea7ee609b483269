"""The route table of /api/v1: each handler is registered with what it takes and answers.

`@operation(...)` adds the Flask rule and a row of `OPERATIONS`, from which the OpenAPI
description is generated; a handler cannot exist without its description, nor the other
way round. The wrapper authenticates the key at the operation's scope and validates the
query parameters and the body before the handler runs, and gives every POST, PATCH and
DELETE its `Idempotency-Key` (`botdesk.app.api.idempotency`).
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, request

from botdesk.app.api import access, idempotency
from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import Body, Query, parse_body, parse_query
from botdesk.db.models import Scope

PREFIX = "/api/v1"
blueprint = Blueprint("api", __name__, url_prefix=PREFIX)

# <int(min=1, max=2147483647):bot_id>  ->  name "bot_id", minimum 1, maximum 2147483647
_PATH_PARAMETER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")
ID = "int(min=1, max=2147483647)"
# Text path parameters (<symbol>), each by its name with the pattern it must match
TEXT_PARAMETERS = {"symbol": r"^[A-Z0-9]{2,20}$", "series": r"^[a-z][a-z0-9_]{0,39}$"}


@dataclass(frozen=True)
class PathParameter:
    name: str
    schema: dict


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str  # Flask rule below PREFIX, e.g. "/bots/<int(min=1, ...):bot_id>/start"
    endpoint: str
    summary: str
    tag: str
    scope: Scope | None  # None: no key needed
    response: dict  # JSON schema of the success body
    status: int = 200
    query: type[Query] | None = None
    body: type[Body] | None = None
    csv: bool = False
    description: str = ""
    errors: tuple[int, ...] = field(default=())
    media_type: str = "application/json"  # of the success body

    @property
    def path(self) -> str:
        """The OpenAPI path: /api/v1/bots/{bot_id}/start."""
        return PREFIX + _PATH_PARAMETER.sub(lambda match: "{" + match.group(3) + "}", self.rule)

    @property
    def path_parameters(self) -> list[PathParameter]:
        found = []
        for converter, arguments, name in _PATH_PARAMETER.findall(self.rule):
            if not converter and name in TEXT_PARAMETERS:
                schema = {"type": "string", "pattern": TEXT_PARAMETERS[name]}
                found.append(PathParameter(name, schema))
                continue
            if converter != "int":
                raise ValueError(f"{self.rule}: only int and named text path parameters")
            bounds = dict(
                (part.split("=")[0].strip(), int(part.split("=")[1]))
                for part in arguments.split(",")
            )
            schema = {"type": "integer", "minimum": bounds["min"], "maximum": bounds["max"]}
            found.append(PathParameter(name, schema))
        return found


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    scope: Scope | None,
    response: dict,
    status: int = 200,
    query: type[Query] | None = None,
    body: type[Body] | None = None,
    csv: bool = False,
    description: str = "",
    errors: tuple[int, ...] = (),
    media_type: str = "application/json",
) -> Callable:
    """Register a handler; it is called with its path parameters and, when declared,
    `holder` (the caller's key), `query` and `body` (validated models)."""

    def decorate(handler: Callable) -> Callable:
        endpoint = f"{handler.__module__.rsplit('.', 1)[-1]}_{handler.__name__}"
        spec = Operation(
            method=method,
            rule=rule,
            endpoint=endpoint,
            summary=summary,
            tag=tag,
            scope=scope,
            response=response,
            status=status,
            query=query,
            body=body,
            csv=csv,
            description=description,
            errors=errors,
            media_type=media_type,
        )

        texts = [p.name for p in spec.path_parameters if p.schema["type"] == "string"]

        @functools.wraps(handler)
        def view(**path_values):
            arguments = dict(path_values)
            for name in texts:
                if not re.match(TEXT_PARAMETERS[name], arguments[name]):
                    raise ApiError(
                        400, "invalid_parameter", f"{name} {arguments[name][:40]!r} is malformed"
                    )
            if scope is not None:
                arguments["holder"] = access.require(scope)
            if query is not None:
                arguments["query"] = parse_query(query)
            elif request.args:
                name = next(iter(request.args))
                raise ApiError(400, "invalid_parameter", f"unknown parameter {name!r}")
            if body is not None:
                arguments["body"] = parse_body(body)
            if method in idempotency.METHODS and scope is not None:
                key = idempotency.presented_key()
                if key is not None:
                    return idempotency.answer(
                        arguments["holder"], key, lambda: handler(**arguments)
                    )
            return handler(**arguments)

        blueprint.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=[method])
        OPERATIONS.append(spec)
        return handler

    return decorate
