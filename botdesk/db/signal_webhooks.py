"""Signal webhooks for subscribers: a script with a read key registers a URL, the signal
events it wants and filters; each signal event is POSTed there as JSON, signed with
HMAC-SHA256 under a secret shown once at registration. URLs are http(s) only, encrypted at
rest like channel URLs, and by default never on loopback or private addresses."""

import ipaddress
import json
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from botdesk.db import audit
from botdesk.db.models import SignalWebhook
from botdesk.db.notification_channels import mask_url
from botdesk.db.notification_kinds import SIGNAL_KINDS
from botdesk.keys import encrypt
from botdesk.settings import Settings, get_settings

MAX_URL = 2000
MAX_FILTER_ITEMS = 100
MAX_PER_OWNER = 20


class WebhookError(ValueError):
    """A webhook registration that cannot be made; the message says why."""


@dataclass(frozen=True)
class Registered:
    webhook: SignalWebhook
    secret: str  # shown once


def _private(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        raise WebhookError(f"the webhook's host {host!r} does not resolve") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved:
            return True
    return False


def check_url(url: str | None, settings: Settings) -> str:
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise WebhookError(f"url is required (up to {MAX_URL} characters)")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise WebhookError("url is not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookError(f"url must be http:// or https://, not {parts.scheme or 'none'}://")
    if not host:
        raise WebhookError("url has no host")
    if parts.username or parts.password:
        raise WebhookError("url must not carry a user or password")
    if not settings.WEBHOOK_ALLOW_PRIVATE and _private(host):
        raise WebhookError(
            "url points at a loopback or private address; botdesk only calls public hosts "
            "(BOTDESK_WEBHOOK_ALLOW_PRIVATE allows others)"
        )
    return url


def check_events(events: list[str] | None) -> str:
    events = list(dict.fromkeys(events or []))
    if not events:
        raise WebhookError(f"events is required: one or more of {', '.join(SIGNAL_KINDS)}")
    unknown = [event for event in events if event not in SIGNAL_KINDS]
    if unknown:
        raise WebhookError(
            f"unknown event(s) {', '.join(map(str, unknown))}; known: {', '.join(SIGNAL_KINDS)}"
        )
    return ",".join(events)


def check_filters(filters: dict | None) -> str:
    filters = filters or {}
    clean: dict = {}
    for name in ("symbols", "strategies"):
        values = filters.get(name)
        if values:
            if len(values) > MAX_FILTER_ITEMS:
                raise WebhookError(f"filters.{name}: at most {MAX_FILTER_ITEMS} values")
            clean[name] = sorted({str(value) for value in values})
    if filters.get("min_confidence") is not None:
        clean["min_confidence"] = float(filters["min_confidence"])
    return json.dumps(clean, sort_keys=True)


def register(
    *,
    session: Session,
    url: str,
    events: list[str],
    filters: dict | None,
    owner_id: int | None,
    api_key_id: int | None,
    by: str,
    ip: str | None = None,
    settings: Settings | None = None,
) -> Registered:
    settings = settings or get_settings()
    url = check_url(url, settings)
    events_text = check_events(events)
    filters_text = check_filters(filters)
    if len(listed(session=session, owner_id=owner_id)) >= MAX_PER_OWNER:
        raise WebhookError(f"at most {MAX_PER_OWNER} webhooks per user; delete one first")
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = SignalWebhook(
        url_encrypted=encrypt(url, settings),
        url_masked=mask_url(url),
        secret_encrypted=encrypt(secret, settings),
        events=events_text,
        filters=filters_text,
        api_key_id=api_key_id,
        owner_id=owner_id,
        created_by=by,
    )
    session.add(webhook)
    session.flush()
    audit.record(
        session=session,
        actor=by,
        action="webhook.signal.register",
        target=f"signal_webhook:{webhook.id}",
        ip=ip,
        user_id=owner_id,
        details={"url": webhook.url_masked, "events": events_text},
    )
    return Registered(webhook, secret)


def listed(*, session: Session, owner_id: int | None) -> list[SignalWebhook]:
    query = select(SignalWebhook).order_by(col(SignalWebhook.id))
    if owner_id is not None:
        query = query.where(SignalWebhook.owner_id == owner_id)
    return list(session.exec(query))


def all_webhooks(*, session: Session) -> list[SignalWebhook]:
    return listed(session=session, owner_id=None)


def delete(
    *, session: Session, webhook_id: int, owner_id: int | None, by: str, ip: str | None = None
) -> bool:
    """Remove one of the owner's webhooks (any, for owner_id None); False if none."""
    webhook = session.get(SignalWebhook, webhook_id)
    if webhook is None or (owner_id is not None and webhook.owner_id != owner_id):
        return False
    session.delete(webhook)
    audit.record(
        session=session,
        actor=by,
        action="webhook.signal.delete",
        target=f"signal_webhook:{webhook_id}",
        ip=ip,
        user_id=owner_id,
    )
    return True


def matches(webhook: SignalWebhook, kind: str, payload: dict) -> bool:
    if kind not in webhook.events.split(","):
        return False
    filters = json.loads(webhook.filters or "{}")
    if filters.get("symbols") and payload.get("symbol") not in filters["symbols"]:
        return False
    if filters.get("strategies") and payload.get("strategy") not in filters["strategies"]:
        return False
    least = filters.get("min_confidence")
    return least is None or float(payload.get("confidence") or 0) >= least


def as_json(webhook: SignalWebhook) -> dict:
    return {
        "id": webhook.id,
        "url": webhook.url_masked,
        "events": webhook.events.split(","),
        "filters": json.loads(webhook.filters or "{}"),
        "created_at": webhook.created_at.isoformat(),
        "created_by": webhook.created_by,
    }
