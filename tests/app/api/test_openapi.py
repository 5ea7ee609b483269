"""The OpenAPI description and the handlers come from one route table: neither can have
an operation the other lacks, and the description is a valid OpenAPI 3.1 document."""

import pytest
from openapi_spec_validator import validate

from botdesk.app.api.openapi import describe
from botdesk.app.api.routing import TEXT_PARAMETERS
from botdesk.app.factory import create_server
from botdesk.db.session import Database
from botdesk.settings import Settings


@pytest.fixture
def server(sqlite_url):
    database = Database(sqlite_url)
    yield create_server(Settings(DATABASE_URL=sqlite_url, SECRET_KEY="test"), database)
    database.dispose()


def _rules(server) -> set[tuple[str, str]]:
    found = set()
    for rule in server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule
        for argument in rule.arguments:
            converter = type(rule._converters[argument]).__name__
            assert converter == "IntegerConverter" or (
                converter == "UnicodeConverter" and argument in TEXT_PARAMETERS
            ), rule.rule
            path = path.replace(
                path[path.index("<") : path.index(">") + 1], "{" + argument + "}", 1
            )
        found |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_api_rule_is_described_and_every_description_is_a_rule(server):
    spec = server.test_client().get("/api/v1/openapi.json").get_json()
    described = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert described == _rules(server)
    assert ("POST", "/api/v1/kill-switch/release") in described
    assert len(described) >= 19


def test_the_description_is_valid_openapi_and_says_who_may_call_what():
    spec = describe()
    validate(spec)
    release = spec["paths"]["/api/v1/kill-switch/release"]["post"]
    assert release["x-scope"] == "admin" and release["security"] == [{"ApiKey": []}]
    assert spec["paths"]["/api/v1/kill-switch"]["post"]["x-scope"] == "trade"
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    engage_body = spec["paths"]["/api/v1/kill-switch"]["post"]["requestBody"]
    schema = engage_body["content"]["application/json"]["schema"]
    assert schema["required"] == ["reason"] and schema["additionalProperties"] is False
    orders = spec["paths"]["/api/v1/orders"]["get"]
    names = {p["name"] for p in orders["parameters"]}
    assert {"bot_id", "status", "since", "until", "cursor", "limit", "format"} <= names
    assert "text/csv" in orders["responses"]["200"]["content"]
    order = spec["components"]["schemas"]["Order"]["properties"]
    assert order["quantity"]["type"] == "string" and order["price"]["type"] == ["string", "null"]
    assert "webhook_token_hash" not in spec["components"]["schemas"]["Bot"]["properties"]
    smc = spec["paths"]["/api/v1/analysis/{symbol}/smc"]["get"]
    assert smc["x-scope"] == "read"
    assert smc["parameters"][0]["schema"] == {"type": "string", "pattern": "^[A-Z0-9]{2,20}$"}
    assert {"404", "422"} <= set(smc["responses"])
    new_key = spec["paths"]["/api/v1/auth/keys"]["post"]["requestBody"]["content"]
    expiry = new_key["application/json"]["schema"]["properties"]["expires_days"]
    assert {"minimum": 1, "maximum": 3650}.items() <= expiry["anyOf"][0].items()
