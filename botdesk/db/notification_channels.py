"""Notification channels: an Apprise URL (Telegram, email, Discord, Slack, ntfy, a JSON
webhook...), the event kinds it wants and the least severity. The URL holds secrets (a bot
token, a mail password), so it is Fernet-encrypted like exchange credentials and only ever
shown back masked. Every change is audited by its caller's surface (desk, CLI)."""

from urllib.parse import urlsplit

from sqlmodel import Session, select

from botdesk.db import audit, typed
from botdesk.db.models import NotificationChannel
from botdesk.db.notification_kinds import KINDS, SEVERITIES
from botdesk.keys import decrypt, encrypt
from botdesk.settings import Settings

MAX_NAME = 100
MAX_URL = 2000


class ChannelError(ValueError):
    """A channel change that cannot be made; the message says why."""


def mask_url(url: str) -> str:
    """The URL with its secrets hidden: the scheme and a host that is a name or an address
    stay; a user shows two characters, a password none; a path segment two characters; a
    query is cut. `tgram://123456:AAE.../998877` reads `tgram://12…/99…`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable URL)"
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":")
    if not (colon and port.isdigit()):
        host, port = hostport, ""
    if "." in host or host == "localhost" or host.startswith("["):
        shown = f"{host}:{port}" if port else host
    else:  # a token in the host's place (tgram://BOT_TOKEN/...)
        shown = _short(hostport)
    if userinfo:
        user, _, password = userinfo.partition(":")
        shown = f"{_short(user)}{':****' if password else ''}@{shown}"
    path = "/".join(_short(segment) if segment else "" for segment in parts.path.split("/"))
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{shown}{path}{query}"[:255]


def _short(secret: str) -> str:
    return secret if len(secret) <= 2 else f"{secret[:2]}…"


def check_url(url: str | None) -> str:
    """The URL if Apprise can deliver to it; ChannelError otherwise."""
    import apprise  # the desk's forms and the CLI only; the engine never needs it

    url = typed.text(url, field="URL", most=MAX_URL, refuse=ChannelError, required=False)
    if not url:
        raise ChannelError("the URL is required (an Apprise URL such as tgram://, mailto://)")
    if "://" not in url:
        raise ChannelError(f"not an Apprise URL: {mask_url(url)!r} (write e.g. mailto://...)")
    if apprise.Apprise.instantiate(url) is None:
        scheme = url.split("://", 1)[0]
        raise ChannelError(
            f"Apprise cannot deliver to {scheme}:// URLs written this way "
            "(see https://github.com/caronc/apprise/wiki for each service's URL)"
        )
    return url


def check_events(events: str | list[str] | None) -> str:
    """Comma-separated known kinds ('' for every kind); ChannelError names unknown ones."""
    if events is None:
        return ""
    names = events.split(",") if isinstance(events, str) else list(events)
    names = [name.strip() for name in names if name and name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise ChannelError(
            f"unknown event kind(s): {', '.join(unknown)}; known: {', '.join(sorted(KINDS))}"
        )
    return ",".join(dict.fromkeys(names))


def check_severity(severity: str | None) -> str:
    severity = (severity or "info").strip().lower()
    if severity not in SEVERITIES:
        raise ChannelError(f"the least severity is one of {', '.join(SEVERITIES)}")
    return severity


def all_channels(*, session: Session) -> list[NotificationChannel]:
    return list(session.exec(select(NotificationChannel).order_by(NotificationChannel.name)))


def by_name(*, session: Session, name: str) -> NotificationChannel | None:
    return session.exec(select(NotificationChannel).where(NotificationChannel.name == name)).first()


def add(
    *,
    session: Session,
    name: str,
    url: str,
    events: str | list[str] | None,
    min_severity: str | None,
    by: str,
    ip: str | None = None,
    user_id: int | None = None,
    settings: Settings | None = None,
) -> NotificationChannel:
    name = typed.text(name, field="name", most=MAX_NAME, refuse=ChannelError, required=False)
    if not name:
        raise ChannelError(f"the name is required (up to {MAX_NAME} characters)")
    url = check_url(url)
    events = check_events(events)
    min_severity = check_severity(min_severity)
    if by_name(session=session, name=name):
        raise ChannelError(f"a channel named {name!r} already exists")
    channel = NotificationChannel(
        name=name,
        url_encrypted=encrypt(url, settings),
        url_masked=mask_url(url),
        events=events,
        min_severity=min_severity,
        created_by=by,
    )
    session.add(channel)
    session.flush()
    audit.record(
        session=session,
        actor=by,
        action="notify.channel.add",
        target=f"channel:{name}",
        ip=ip,
        user_id=user_id,
        details={"url": channel.url_masked, "events": events or "all", "min": min_severity},
    )
    return channel


def remove(
    *,
    session: Session,
    name: str,
    by: str,
    ip: str | None = None,
    user_id: int | None = None,
) -> None:
    channel = by_name(session=session, name=name)
    if channel is None:
        raise ChannelError(f"no channel named {name!r}")
    session.delete(channel)
    audit.record(
        session=session,
        actor=by,
        action="notify.channel.remove",
        target=f"channel:{name}",
        ip=ip,
        user_id=user_id,
    )


def url_of(channel: NotificationChannel, settings: Settings | None = None) -> str:
    """The clear URL, for the sender only: never shown, logged or audited."""
    return decrypt(channel.url_encrypted, settings)


def wants(channel: NotificationChannel, kind: str, severity: str) -> bool:
    """Whether the channel subscribes to this kind at this severity."""
    if not channel.enabled:
        return False
    if SEVERITIES.index(severity) < SEVERITIES.index(channel.min_severity):
        return False
    return not channel.events or kind in channel.events.split(",")
