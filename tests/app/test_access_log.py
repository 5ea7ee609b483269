"""No secret in the desk's logs, on a real desk process: an API key sent in the URL is
refused (the header is the only way in) and written nowhere in clear, neither in the
access log nor in the audit log; the header's key is never logged either. The access log
keeps only the atoms its format prints, each redacted."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import SafeAtoms
from sqlmodel import select

from botdesk.app.access_log import RedactingLogger
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


def access_line(log_format: str, raw_uri: str, headers: list[tuple[str, str]]) -> str:
    """What RedactingLogger prints for one request, in a format of the operator's choosing."""
    config = Config()
    config.set("access_log_format", log_format)
    logger = RedactingLogger(config)
    answer = SimpleNamespace(status="200 OK", sent=12, headers=[("Set-Cookie", "session=s3")])
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.9",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers},
    }
    request = SimpleNamespace(headers=[(name.upper(), value) for name, value in headers])
    atoms = logger.atoms(answer, request, environ, timedelta(milliseconds=7))
    return log_format % SafeAtoms(atoms)


def test_only_the_printed_atoms_are_kept_each_redacted_whatever_the_format():
    key = "bd_0123abcd_" + "k" * 43
    headers = [("X-Api-Key", key), ("Cookie", "session=s3cret"), ("User-Agent", "curl/8")]
    line = access_line(
        '%(h)s "%(r)s" %(s)s %(M)sms %({x-api-key}i)s %({Cookie}i)s %({user-agent}i)s %(a)s',
        f"/api/v1/bots?api_key={key}",
        headers,
    )
    assert line == (
        '10.0.0.9 "GET /api/v1/bots?api_key=<redacted> HTTP/1.1" 200 7ms <redacted> '
        "<redacted> curl/8 curl/8"
    )
    assert access_line("%(r)s %({missing}i)s", "/bots", headers) == "GET /bots HTTP/1.1 -"
