"""The REST API at /api/v1: a Flask blueprint, one module per resource.

Importing the resource modules registers their operations on the blueprint; `install`
attaches it to the desk's Flask server, with JSON errors for every path under /api/.
"""

from flask import Flask, Response, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from botdesk.app import webhook
from botdesk.app.api import (  # noqa: F401  (each registers its operations)
    access,
    analysis,
    auth_keys,
    backtests,
    balances,
    bots,
    commands,
    equity,
    errors,
    fills,
    health,
    kill_switch,
    market,
    ml_external,
    openapi,
    orders,
    positions,
    risk_events,
    signals,
    stream,
    trades,
    webhooks,
)
from botdesk.app.api.routing import blueprint

MACHINE_BLUEPRINTS = ("api", "webhook")

errors.install(blueprint)
blueprint.after_request(access.record_use)


def _machine_rules(server: Flask) -> Map:
    """The API's and the webhook's rules alone, to tell a wrong method from a wrong path."""
    return Map(
        [
            Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
            for rule in server.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in MACHINE_BLUEPRINTS
        ]
    )


def _options(api_rules) -> Response:
    """OPTIONS names the methods of this API path alone: Flask's own answer would add the
    GET of Dash's catch-all page route, which the API does not serve."""
    try:
        allowed = api_rules.allowed_methods(request.path)
    except NotFound:
        allowed = []
    if not allowed:
        return errors.from_http_error(NotFound())
    response = Response(status=204)
    response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def _matches(rules, path: str, method: str) -> bool:
    try:
        rules.match(path, method=method)
    except (MethodNotAllowed, NotFound):
        return False
    return True


def machine_blueprints():
    """The blueprints programs call (the API and the webhook), as opposed to the pages."""
    return blueprint, webhook.blueprint


def install(server: Flask) -> None:
    server.register_blueprint(blueprint)
    server.register_blueprint(webhook.blueprint)
    api_rules = _machine_rules(server).bind("localhost")

    @server.before_request
    def machine_paths_answer_json():
        """A path under /api/ that no API rule matches gets a JSON 404 or 405, never
        the desk's HTML page that Dash would otherwise serve for any path."""
        if not request.path.startswith(("/api/", "/webhook/")):
            return None
        if request.method == "OPTIONS":
            return _options(api_rules)
        if request.blueprint in MACHINE_BLUEPRINTS and request.routing_exception is None:
            return None
        try:
            api_rules.match(request.path, method=request.method)
        except MethodNotAllowed as refused:
            # werkzeug says "wrong method" when a rule of another method matched the path's
            # shape but its converter refused the value (DELETE /auth/keys/0): no such path
            if not any(_matches(api_rules, request.path, m) for m in refused.valid_methods or ()):
                return errors.from_http_error(NotFound())
            return errors.from_http_error(refused)
        except NotFound as missing:
            return errors.from_http_error(missing)
        return errors.from_http_error(NotFound())
