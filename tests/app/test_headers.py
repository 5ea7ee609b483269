"""Browser security headers on a real desk: pages, the REST API, the webhook and the CSV
exports each get the ones that apply; HSTS only with BOTDESK_SECURE_COOKIES=true over https.
Every page running under the policy in Chromium: tests/browser/test_content_security_policy.py
"""

import re

import pytest

from botdesk.app.factory import create_app
from tests.factories import make_api_key, make_user

pytestmark = pytest.mark.integration

EVERYWHERE = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
NOTHING_TO_RENDER = "default-src 'none'; frame-ancestors 'none'"


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


def test_pages_get_a_policy_that_allows_only_the_desks_own_scripts(desk):
    viewer = desk.signed_in("hdr-viewer")
    for response in (desk.call("GET", "/login"), viewer.get(f"{desk.base}/bots")):
        assert response.status_code == 200
        assert {name: response.headers.get(name) for name in EVERYWHERE} == EVERYWHERE
        policy = directives(response.headers["content-security-policy"])
        assert policy["default-src"] == "default-src 'self'"
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        assert policy["object-src"] == "object-src 'none'"
        scripts = policy["script-src"].split()[1:]
        assert scripts[0] == "'self'" and "'unsafe-inline'" not in scripts
        assert "'unsafe-eval'" not in scripts
        assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", item) for item in scripts[1:])
        assert "strict-transport-security" not in response.headers  # plain http here


def test_the_api_the_webhook_and_exports_get_a_policy_that_renders_nothing(desk):
    key = make_api_key(desk.db, make_user(desk.db, role="viewer"), "read")
    viewer = desk.signed_in("hdr-exporter")
    answers = {
        "api": desk.call("GET", "/api/v1/bots", key=key),
        "api refusal": desk.call("GET", "/api/v1/bots"),
        "webhook": desk.call("POST", "/webhook/tradingview/unknown-token", json={}),
        "export": viewer.get(f"{desk.base}/export/fill.csv"),
    }
    for name, response in answers.items():
        assert {h: response.headers.get(h) for h in EVERYWHERE} == EVERYWHERE, name
        assert response.headers["content-security-policy"] == NOTHING_TO_RENDER, name
        assert response.headers["cache-control"] == "no-store", name
    assert answers["api"].status_code == answers["export"].status_code == 200


@pytest.mark.parametrize("secure", [False, True])
def test_hsts_only_with_secure_cookies_and_only_over_https(settings, secure):
    """In process: a configuration flag; https as a TLS-ending proxy reports it."""
    app = create_app(settings.model_copy(update={"SECURE_COOKIES": secure}))
    client = app.server.test_client()
    over_https = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    over_http = client.get("/login")
    assert "Strict-Transport-Security" not in over_http.headers
    assert over_https.headers.get("Strict-Transport-Security") == (
        "max-age=31556926" if secure else None
    )
    assert ("; Secure" in over_http.headers["Set-Cookie"]) == secure
