"""Sending one delivery: an Apprise channel, or a subscriber's signal webhook (a JSON POST
signed with HMAC-SHA256). Nothing here touches the database."""

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import quote

import apprise
import requests

from botdesk.redaction import redact

log = logging.getLogger(__name__)

NOTIFY_TYPES = {
    "info": apprise.NotifyType.INFO,
    "warning": apprise.NotifyType.WARNING,
    "critical": apprise.NotifyType.FAILURE,
}
# Apprise's generic webhooks take extra request headers as +Name=value in the URL.
HEADER_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")
EVENT_HEADER = "X-Botdesk-Event-Id"
WEBHOOK_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None


def use_telegram_server(api_url: str | None) -> None:
    """Point Apprise's tgram:// at a local Bot API server (or back at Telegram's)."""
    from apprise.plugins.telegram import NotifyTelegram

    base = api_url.rstrip("/") if api_url else "https://api.telegram.org"
    NotifyTelegram.notify_url = f"{base}/bot"


def with_event_header(url: str, dedupe_id: str) -> str:
    scheme = url.split("://", 1)[0].lower()
    if scheme not in HEADER_SCHEMES:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}+{EVENT_HEADER}={quote(dedupe_id, safe='')}"


def send_to_channel(*, url: str, title: str, body: str, severity: str, dedupe_id: str) -> Outcome:
    """One message through Apprise; the event id closes the body (and is a header on the
    generic webhooks), so a receiver can tell a repeat after a sender crash."""
    notifier = apprise.Apprise()
    if not notifier.add(with_event_header(url, dedupe_id)):
        return Outcome(False, "Apprise cannot use this URL any more")
    text = f"{body}\n\nbotdesk event {dedupe_id}"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = notifier.notify(
            title=title, body=text, notify_type=NOTIFY_TYPES.get(severity, apprise.NotifyType.INFO)
        )
        said = captured.getvalue().strip()
    if ok:
        return Outcome(True)
    return Outcome(False, redact(said.splitlines()[-1] if said else "Apprise reported a failure"))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, as the X-Botdesk-Signature header."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def send_to_webhook(*, url: str, secret: str, payload: dict, dedupe_id: str) -> Outcome:
    body = json.dumps(payload, default=str, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "botdesk-webhook/1",
        "X-Botdesk-Event-Id": dedupe_id,
        "X-Botdesk-Timestamp": timestamp,
        "X-Botdesk-Signature": signature(secret, timestamp, body),
    }
    try:
        answer = requests.post(
            url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS, allow_redirects=False
        )
    except requests.RequestException as error:
        return Outcome(False, redact(f"{type(error).__name__}: {error}")[:500])
    if 200 <= answer.status_code < 300:
        return Outcome(True)
    return Outcome(False, f"the webhook answered HTTP {answer.status_code}")
