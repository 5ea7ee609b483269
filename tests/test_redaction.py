"""Secrets out of log lines: the patterns, the processes' log filter (a real logger and
handler) and the audit log (a real database)."""

import io
import logging

from botdesk.db import audit
from botdesk.logs import RedactSecrets
from botdesk.redaction import redact

KEY = "bd_3f9a1c2b_" + "Zx9-_" * 8 + "abc"  # the format of db/api_keys.py


def test_keys_tokens_and_secret_parameters_are_replaced_and_nothing_else():
    line = f"GET /api/v1/bots?limit=5&api_key={KEY}&symbol=BTCUSDT HTTP/1.1"
    assert redact(line) == "GET /api/v1/bots?limit=5&api_key=<redacted>&symbol=BTCUSDT HTTP/1.1"
    assert redact(f"refused key {KEY}") == "refused key bd_3f9a1c2b_<redacted>"
    assert redact("/webhook/tradingview/s3cr3t?x=1") == "/webhook/tradingview/<token>?x=1"
    assert redact("token=abc&password=hunter2&code=123456") == (
        "token=<redacted>&password=<redacted>&code=<redacted>"
    )
    plain = 'GET /export/fill.csv?filter={"side":{"filter":"buy"}}&sort=[] HTTP/1.1'
    assert redact(plain) == plain
    assert redact("monkey=1&keys=2") == "monkey=1&keys=2"
    assert redact(None) is None


def test_the_log_filter_cleans_messages_their_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("request %s refused", f"/api/v1/bots?api_key={KEY}")
        try:
            raise ValueError(f"bad key {KEY}")
        except ValueError:
            logger.exception("while handling /webhook/tradingview/s3cr3t")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert KEY[12:] not in written and "s3cr3t" not in written
    assert "request /api/v1/bots?api_key=<redacted> refused" in written
    assert "ValueError: bad key bd_3f9a1c2b_<redacted>" in written


def test_the_audit_log_stores_no_key_in_clear(db):
    with db.writing() as session:
        row = audit.record(
            session=session,
            actor="api:bd_3f9a1c2b",
            action="api.refused",
            target=f"GET /api/v1/bots?api_key={KEY}",
            reason=f"key {KEY} revoked",
            details={"url": f"/x?token={KEY}"},
        )
    assert KEY[12:] not in f"{row.target} {row.reason} {row.details}"
    assert row.target == "GET /api/v1/bots?api_key=<redacted>"
    assert row.reason == "key bd_3f9a1c2b_<redacted> revoked"
