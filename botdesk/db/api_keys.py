"""API keys: created, listed, revoked and checked, for the desk, the CLI and the REST API.

A key reads `bd_3f9a1c2b_<43 random characters>`. Its first 11 characters are the prefix,
stored in clear so people can tell keys apart; the whole key is stored only as its SHA-256
(a 256-bit random secret needs no slow hash, and every API request checks one). The key is
shown once, when it is created.

A key never grants more than its owner's role: it is created at most at that role, and at
each use it is cut down to the owner's current role, so demoting a user demotes their keys
and disabling a user stops them.

A key may be held to an IP allow-list: addresses and networks in CIDR notation
(`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`), stored normalized and comma-separated; a
request from elsewhere is refused (the API audits the refusal). No list: any address.
"""

import functools
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from botdesk.db import audit, notification_events, notifications, typed
from botdesk.db.models import ApiKey, Role, Scope, User
from botdesk.db.types import utcnow

PREFIX_LENGTH = 11  # "bd_" and 8 hex digits
KEY_PATTERN = re.compile(r"^bd_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")
MAX_NAME = 100
MIN_EXPIRES_DAYS, MAX_EXPIRES_DAYS = 1, 3650  # the one rule for a key's lifetime, everywhere
MAX_ALLOWED_NETWORKS = 20
# last_used_at is written at most once a minute per key, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(seconds=60)

# The least role that may hold a key of each scope, and the widest scope of each role.
SCOPE_ROLE = {Scope.READ: Role.VIEWER, Scope.TRADE: Role.TRADER, Scope.ADMIN: Role.ADMIN}
ROLE_SCOPE = {role: scope for scope, role in SCOPE_ROLE.items()}


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked; the message says why."""


class ApiKeyRefused(Exception):
    """A presented key does not authenticate; `reason` is safe to show to its presenter."""

    def __init__(self, reason: str, prefix: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.prefix = prefix


def scope_rank(scope: Scope | str) -> int:
    return SCOPE_ROLE[Scope(scope)].rank


def effective_scope(scope: Scope | str, role: Role | str) -> Scope:
    """What a key may do now: its scope, cut down to its owner's current role."""
    widest = ROLE_SCOPE[Role(role)]
    return Scope(scope) if scope_rank(scope) <= scope_rank(widest) else widest


@dataclass(frozen=True)
class KeyHolder:
    """An authenticated key and its owner, as the API handlers see them."""

    key_id: int
    prefix: str
    name: str
    scope: Scope  # as granted
    effective: Scope  # as allowed now by the owner's role
    user_id: int
    username: str
    role: Role
    last_used_at: datetime | None = None
    allowed_ips: str | None = field(default=None)

    @property
    def actor(self) -> str:
        return f"api:{self.prefix}"

    @property
    def acting_role(self) -> Role:
        return SCOPE_ROLE[self.effective]

    def allows(self, needed: Scope) -> bool:
        return scope_rank(self.effective) >= scope_rank(needed)

    def allows_address(self, address: str | None) -> bool:
        """Whether a request from `address` may use this key (its allow-list, if any)."""
        return address_allowed(self.allowed_ips, address)


@functools.lru_cache(maxsize=1024)
def _networks(allowed_ips: str) -> tuple:
    return tuple(ipaddress.ip_network(part) for part in allowed_ips.split(","))


def address_allowed(allowed_ips: str | None, address: str | None) -> bool:
    """Whether `address` is inside one of the networks of a stored allow-list (None: any)."""
    if allowed_ips is None:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(allowed_ips))


def validate_allowed_ips(networks: Iterable[str] | str | None) -> str | None:
    """An allow-list given as CIDRs (a list, or text separated by commas, spaces or new
    lines), normalized for storage; None for an empty one. ApiKeyError names a bad entry."""
    if networks is None:
        return None
    if isinstance(networks, str):
        networks = re.split(r"[\s,]+", networks)
    parts = [part.strip() for part in networks if part and part.strip()]
    if not parts:
        return None
    if len(parts) > MAX_ALLOWED_NETWORKS:
        raise ApiKeyError(f"at most {MAX_ALLOWED_NETWORKS} addresses or networks per key")
    normalized = []
    for part in parts:
        try:
            network = ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise ApiKeyError(
                f"{part[:60]!r} is not an IP address or network (e.g. 203.0.113.7, "
                "10.0.0.0/8, 2001:db8::/32)"
            ) from None
        if str(network) not in normalized:
            normalized.append(str(network))
    return ",".join(normalized)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def validate_scope(scope: str) -> Scope:
    try:
        return Scope(scope)
    except ValueError:
        raise ApiKeyError(f"unknown scope {scope!r}: choose read, trade or admin") from None


def validate_name(name: str | None) -> str:
    text = typed.text(name, field="name", most=MAX_NAME, refuse=ApiKeyError, required=False)
    return text or "api key"


def expiry_days(typed_days: object) -> int | None:
    """Days until a key expires as typed on a form (None or empty: never); ApiKeyError
    for anything but a whole number from 1 to MAX_EXPIRES_DAYS."""
    if typed_days is None or (isinstance(typed_days, str) and not typed_days.strip()):
        return None
    return typed.whole_number(
        typed_days,
        field="expiry",
        low=MIN_EXPIRES_DAYS,
        high=MAX_EXPIRES_DAYS,
        unit="days",
        refuse=ApiKeyError,
    )


def validate_expiry(expires_days: int | None, now: datetime) -> datetime | None:
    if expires_days is None:
        return None
    if (
        isinstance(expires_days, bool)
        or not isinstance(expires_days, int)
        or not MIN_EXPIRES_DAYS <= expires_days <= MAX_EXPIRES_DAYS
    ):
        raise ApiKeyError(
            f"expiry must be a whole number of days from {MIN_EXPIRES_DAYS} to {MAX_EXPIRES_DAYS}"
        )
    return now + timedelta(days=expires_days)


def may_manage(*, actor_role: Role | str, actor_user_id: int | None, owner_id: int) -> bool:
    """Users manage their own keys; admins manage everyone's."""
    return Role(actor_role) == Role.ADMIN or actor_user_id == owner_id


def create(
    *,
    session: Session,
    owner: User,
    scope: str,
    actor: str,
    name: str | None = None,
    expires_days: int | None = None,
    actor_user_id: int | None = None,
    ip: str | None = None,
    allowed_ips: Iterable[str] | str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for `owner`; returns the row and the key itself (never stored)."""
    granted = validate_scope(scope)
    allowed = validate_allowed_ips(allowed_ips)
    if owner.disabled:
        raise ApiKeyError(f"{owner.username} is disabled and cannot hold API keys")
    if not Role(owner.role).allows(SCOPE_ROLE[granted]):
        raise ApiKeyError(
            f"a {granted.value}-scoped key needs the {SCOPE_ROLE[granted].value} role; "
            f"{owner.username} is {owner.role}"
        )
    now = utcnow()
    row = ApiKey(
        user_id=owner.id,
        name=validate_name(name),
        scope=granted.value,
        expires_at=validate_expiry(expires_days, now),
        allowed_ips=allowed,
        prefix="",
        key_hash="",
        created_at=now,
    )
    while True:  # 2^32 prefixes: a clash is rare, but the column is unique
        prefix = f"bd_{secrets.token_hex(4)}"
        if session.exec(select(ApiKey.id).where(ApiKey.prefix == prefix)).first() is None:
            break
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    row.prefix, row.key_hash = prefix, hash_key(key)
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        user_id=actor_user_id,
        action="api_key.create",
        target=f"api_key:{prefix}",
        ip=ip,
        details={
            "owner": owner.username,
            "scope": granted.value,
            "name": row.name,
            "expires_at": row.expires_at,
            "allowed_ips": allowed,
        },
    )
    notifications.emit(
        session,
        notification_events.security_api_key_created(
            owner=owner.username, prefix=prefix, scope=granted.value, by=actor
        ),
    )
    return row, key


def by_prefix(*, session: Session, prefix: str) -> ApiKey | None:
    return session.exec(select(ApiKey).where(ApiKey.prefix == prefix.strip())).first()


def revoke(
    *,
    session: Session,
    prefix: str,
    actor: str,
    actor_role: Role | str = Role.ADMIN,
    actor_user_id: int | None = None,
    ip: str | None = None,
) -> ApiKey:
    row = by_prefix(session=session, prefix=prefix)
    if row is None or not may_manage(
        actor_role=actor_role, actor_user_id=actor_user_id, owner_id=row.user_id
    ):
        raise ApiKeyError(f"no API key with prefix {prefix.strip()!r}")
    if row.revoked_at is not None:
        raise ApiKeyError(f"the key {row.prefix} is already revoked")
    row.revoked_at = utcnow()
    session.add(row)
    audit.record(
        session=session,
        actor=actor,
        user_id=actor_user_id,
        action="api_key.revoke",
        target=f"api_key:{row.prefix}",
        ip=ip,
    )
    return row


def listed(*, session: Session, user_id: int | None = None) -> list[tuple[ApiKey, str]]:
    """Keys with their owner's username, newest first; every user's when user_id is None."""
    query = select(ApiKey, User.username).join(User, col(User.id) == col(ApiKey.user_id))
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return [
        (key, username) for key, username in session.exec(query.order_by(col(ApiKey.id).desc()))
    ]


def state(key: ApiKey, now: datetime | None = None) -> str:
    """active, expired or revoked, as the desk and the CLI show it."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def authenticate(*, session: Session, presented: str) -> KeyHolder:
    """The holder of a presented key, or ApiKeyRefused saying why not."""
    presented = (presented or "").strip()
    if not KEY_PATTERN.match(presented):
        raise ApiKeyRefused("invalid API key")
    prefix = presented[:PREFIX_LENGTH]
    found = session.exec(_with_owner().where(ApiKey.prefix == prefix)).first()
    if found is None:
        raise ApiKeyRefused("invalid API key", prefix)
    key, owner = found
    if not hmac.compare_digest(key.key_hash, hash_key(presented)):
        raise ApiKeyRefused("invalid API key", prefix)
    return _holder(key, owner)


def _with_owner():
    return select(ApiKey, User).join(User, col(User.id) == col(ApiKey.user_id))


def _holder(key: ApiKey, owner: User) -> KeyHolder:
    """The holder of an authentic key, or ApiKeyRefused: revoked, expired, owner disabled."""
    if key.revoked_at is not None:
        raise ApiKeyRefused("this API key was revoked", key.prefix)
    if state(key) == "expired":
        raise ApiKeyRefused("this API key has expired", key.prefix)
    if owner.disabled:
        raise ApiKeyRefused("the owner of this API key is disabled", key.prefix)
    return KeyHolder(
        key_id=key.id,
        prefix=key.prefix,
        name=key.name,
        scope=Scope(key.scope),
        effective=effective_scope(key.scope, owner.role),
        user_id=owner.id,
        username=owner.username,
        role=Role(owner.role),
        last_used_at=key.last_used_at,
        allowed_ips=key.allowed_ips,
    )


def holders(*, session: Session, key_ids: set[int]) -> dict[int, KeyHolder]:
    """The holders of keys already authenticated (by id), as they stand now, in one
    statement; a key revoked, expired or whose owner is disabled is left out."""
    found = session.exec(_with_owner().where(col(ApiKey.id).in_(sorted(key_ids)))).all()
    valid = {}
    for key, owner in found:
        try:
            valid[key.id] = _holder(key, owner)
        except ApiKeyRefused:
            continue
    return valid


def use_mark_due(last_used_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether `mark_used` would write: lets a read-only request skip the write transaction."""
    return last_used_at is None or last_used_at < (now or utcnow()) - LAST_USED_RESOLUTION


def mark_used(*, session: Session, key_id: int, now: datetime | None = None) -> bool:
    """Record a use; written at most once per LAST_USED_RESOLUTION. True when written."""
    now = now or utcnow()
    result = session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.id) == key_id,
            or_(
                col(ApiKey.last_used_at).is_(None),
                col(ApiKey.last_used_at) < now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )
    return result.rowcount == 1
