"""No secret in the desk's logs, on a real desk process: an API key sent in the URL is
refused (the header is the only way in) and written nowhere in clear, neither in the
access log nor in the audit log; the header's key is never logged either."""

import pytest
from sqlmodel import select

from botdesk.db.models import AuditLog
from tests.factories import make_api_key, make_user
from tests.processes import wait_until

pytestmark = pytest.mark.integration


def secret_part(key: str) -> str:
    return key.split("_", 2)[2]


def test_an_api_key_in_the_url_is_refused_and_logged_nowhere_in_clear(desk):
    key = make_api_key(desk.db, make_user(desk.db, role="viewer"), "read")
    for parameter in ("api_key", "apikey", "API-KEY", "key"):
        refused = desk.call("GET", f"/api/v1/bots?{parameter}={key}&limit=5")
        assert refused.status_code == 401
        assert "send it in the X-API-Key header" in refused.json()["error"]["message"]
    # with the header as well: the key in the URL has leaked already, the client is told
    both = desk.call("GET", f"/api/v1/bots?api_key={key}", key=key)
    assert both.status_code == 401
    assert desk.call("GET", "/api/v1/bots?limit=5", key=key).status_code == 200
    desk.call("GET", f"/webhook/tradingview/x?token={key}")

    log = wait_until(
        lambda: (text := desk.log.read_text()).count("api_key=<redacted>") >= 2 and text,
        message="the access log lines",
    )
    assert secret_part(key) not in log
    assert "GET /api/v1/bots?api_key=<redacted>&limit=5" in log
    assert "GET /api/v1/bots?key=<redacted>&limit=5" in log
    with desk.db.reading() as session:
        trail = session.exec(select(AuditLog).where(AuditLog.action == "api.refused")).all()
    assert trail and all(secret_part(key) not in (row.target or "") for row in trail)
    assert any("api_key=) is refused" in (row.reason or "") for row in trail)
