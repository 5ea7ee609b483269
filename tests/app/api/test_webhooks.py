"""Signal webhooks over the API on a real desk, delivered by the real sender to a real
HTTP receiver: registered with a read key (the secret once), listed masked, filtered by
event, symbol and confidence, each POST signed with HMAC-SHA256 over the timestamp and the
body (checked here as a subscriber would), deleted by their owner only; URLs that are not
http(s) refused, and loopback/private hosts unless the setting allows them."""

import hashlib
import hmac
import json

import pytest

from botdesk.alerts.sender import Sender
from botdesk.db import notification_events, notifications, signal_webhooks
from botdesk.db.signal_webhooks import WebhookError
from tests.desk import RunningDesk
from tests.factories import TEST_SETTINGS, make_api_key, make_bot, make_user, signal_row
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    running = RunningDesk(
        module_database_url,
        tmp_path_factory.mktemp("webhooks"),
        BOTDESK_WEBHOOK_ALLOW_PRIVATE="true",
    )
    yield running
    running.stop()


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


def verified(message, secret: str) -> dict:
    """What a subscriber does: recompute the signature, compare in constant time."""
    timestamp = message.headers["X-Botdesk-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + message.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(message.headers["X-Botdesk-Signature"], f"sha256={expected}")
    return json.loads(message.body)


def emit_signal(db, bot, number: int, **fields):
    with db.writing() as session:
        signal = signal_row(bot, number, **fields)
        session.add(signal)
        session.flush()
        notifications.emit(session, notification_events.signal_event(signal=signal, bot=bot))
    return signal


def test_a_subscriber_registers_receives_signed_signals_and_deletes(desk, receiver):
    owner = make_user(desk.db, username="sub")
    key = make_api_key(desk.db, owner, "read")
    body = {
        "url": f"http://{receiver.url}/signals?token=abc",
        "events": ["signal.created", "signal.rejected"],
        "filters": {"symbols": ["BTCUSDT"], "min_confidence": 0.5},
    }
    created = desk.call("POST", "/api/v1/webhooks", key, json=body)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    webhook = created.json()["webhook"]
    assert webhook["url"] == f"http://{receiver.url}/si…?…" and "abc" not in created.text
    listed = desk.call("GET", "/api/v1/webhooks", key).json()["items"]
    assert listed == [webhook] and secret not in json.dumps(listed)

    bot = make_bot(desk.db, name="sig-bot", symbol="BTCUSDT")
    eth = make_bot(desk.db, name="eth-bot", symbol="ETHUSDT")
    wanted = emit_signal(desk.db, bot, 1, confidence=0.8)
    emit_signal(desk.db, bot, 2, confidence=0.2)  # below the least confidence
    emit_signal(desk.db, eth, 3, symbol="ETHUSDT", confidence=0.9)  # another symbol
    emit_signal(desk.db, bot, 4, confidence=0.9, status="accepted")  # executed: not wanted
    rejected = emit_signal(
        desk.db, bot, 5, confidence=0.9, status="rejected", status_reason="max_position"
    )
    Sender(desk.db, TEST_SETTINGS).drain()
    messages = receiver.messages()
    assert [m.path for m in messages] == ["/signals?token=abc"] * 2
    first, second = (verified(m, secret) for m in messages)
    assert (first["event"], first["data"]["signal_id"]) == ("signal.created", wanted.id)
    assert first["data"]["strategy"] == "ema_cross" and first["data"]["confidence"] == 0.8
    assert (second["event"], second["data"]["signal_id"]) == ("signal.rejected", rejected.id)
    assert second["data"]["reason"] == "max_position"
    assert messages[0].headers["X-Botdesk-Event-Id"] == first["id"]

    stranger = make_api_key(desk.db, make_user(desk.db, username="other"), "read")
    assert desk.call("DELETE", f"/api/v1/webhooks/{webhook['id']}", stranger).status_code == 404
    assert desk.call("GET", "/api/v1/webhooks", stranger).json()["items"] == []
    deleted = desk.call("DELETE", f"/api/v1/webhooks/{webhook['id']}", key)
    assert deleted.status_code == 200 and deleted.json() == webhook
    assert desk.call("GET", "/api/v1/webhooks", key).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "ftp://example.com/x", "events": ["signal.created"]}, "http:// or https://"),
        ({"url": "javascript:alert(1)", "events": ["signal.created"]}, "http:// or https://"),
        ({"url": "http://u:p@example.com/", "events": ["signal.created"]}, "user or password"),
        ({"url": "https://example.com/", "events": []}, "events"),
        ({"url": "https://example.com/", "events": ["order.filled"]}, "events"),
        (
            {"url": "https://example.com/", "events": ["signal.created"], "secret": "x"},
            "secret",
        ),
    ],
)
def test_bad_registrations_are_refused(desk, body, message):
    key = make_api_key(desk.db, make_user(desk.db), "read")
    refused = desk.call("POST", "/api/v1/webhooks", key, json=body)
    assert refused.status_code == 400
    assert message in refused.json()["error"]["message"]
    assert desk.call("GET", "/api/v1/webhooks", key).json()["items"] == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://10.0.0.8/x", "http://[::1]/x"])
def test_private_addresses_are_refused_by_default(url):
    with pytest.raises(WebhookError, match="loopback or private"):
        signal_webhooks.check_url(url, TEST_SETTINGS)


def test_an_anonymous_caller_registers_nothing(desk):
    body = {"url": "https://example.com/", "events": ["signal.created"]}
    assert desk.call("POST", "/api/v1/webhooks", json=body).status_code == 401
