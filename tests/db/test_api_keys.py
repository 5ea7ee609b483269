"""API keys in the database: scope never above the role, shown once, hashed, revocable."""

from datetime import timedelta

import pytest
from sqlmodel import select

from botdesk.db import api_keys
from botdesk.db.api_keys import ApiKeyError, ApiKeyRefused
from botdesk.db.models import ApiKey, AuditLog, Notification, Role, Scope, User
from botdesk.db.types import utcnow
from tests.factories import make_user


def _create(db, user, scope="read", **options):
    with db.writing() as session:
        owner = session.get(User, user.id)
        return api_keys.create(session=session, owner=owner, scope=scope, actor="test", **options)


def _authenticate(db, key):
    with db.reading() as session:
        return api_keys.authenticate(session=session, presented=key)


def test_a_key_is_shown_once_and_stored_only_as_its_hash(db):
    user = make_user(db, role="trader")
    row, key = _create(db, user, "trade", name="grafana", expires_days=30)
    assert key.startswith(row.prefix + "_") and api_keys.KEY_PATTERN.match(key)
    with db.reading() as session:
        stored = session.exec(select(ApiKey)).one()
        audit_row = session.exec(select(AuditLog)).one()
    assert key not in (stored.key_hash, stored.prefix) and stored.key_hash == api_keys.hash_key(key)
    assert (stored.name, stored.scope) == ("grafana", "trade")
    assert timedelta(days=29, hours=23) < stored.expires_at - utcnow() <= timedelta(days=30)
    assert (audit_row.action, audit_row.target) == ("api_key.create", f"api_key:{row.prefix}")
    assert key not in (audit_row.details or "")
    with db.reading() as session:
        alert = session.exec(select(Notification)).one()
    assert (alert.kind, alert.title) == (
        "security.api_key_created",
        f"API key created for {user.username} (trade)",
    )
    assert key not in alert.body + alert.payload and row.prefix in alert.body
    holder = _authenticate(db, key)
    assert (holder.username, holder.scope, holder.effective) == (user.username, "trade", "trade")
    assert holder.actor == f"api:{row.prefix}"


@pytest.mark.parametrize(
    ("role", "scope", "allowed"),
    [
        ("viewer", "read", True),
        ("viewer", "trade", False),
        ("viewer", "admin", False),
        ("trader", "trade", True),
        ("trader", "admin", False),
        ("admin", "admin", True),
    ],
)
def test_a_key_is_never_created_above_its_owners_role(db, role, scope, allowed):
    user = make_user(db, role=role)
    if allowed:
        row, _ = _create(db, user, scope)
        assert row.scope == scope
        return
    with pytest.raises(ApiKeyError, match=f"needs the .* role; {user.username} is {role}"):
        _create(db, user, scope)
    with db.reading() as session:
        assert session.exec(select(ApiKey)).all() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scope": "root"}, "unknown scope"),
        ({"scope": "read", "expires_days": 0}, "expiry must be"),
        ({"scope": "read", "expires_days": 4000}, "expiry must be"),
        ({"scope": "read", "expires_days": 1.5}, "expiry must be"),
        ({"scope": "read", "expires_days": True}, "expiry must be"),
        ({"scope": "read", "name": "x" * 101}, r"name: at most 100 characters \(101 given\)"),
    ],
)
def test_bad_requests_for_a_key_are_refused(db, options, message):
    user = make_user(db, role="admin")
    with pytest.raises(ApiKeyError, match=message):
        _create(db, user, **options)


def test_a_disabled_user_gets_no_key(db):
    user = make_user(db, role="trader", disabled=True)
    with pytest.raises(ApiKeyError, match="disabled"):
        _create(db, user, "read")


def test_keys_are_refused_when_wrong_revoked_expired_or_the_owner_is_disabled(db):
    user = make_user(db, role="trader")
    row, key = _create(db, user, "trade")
    for presented in ("", "nonsense", key[:-1] + ("A" if key[-1] != "A" else "B")):
        with pytest.raises(ApiKeyRefused, match="invalid API key"):
            _authenticate(db, presented)

    with db.writing() as session:
        session.get(ApiKey, row.id).expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(ApiKeyRefused, match="expired") as expired:
        _authenticate(db, key)
    assert expired.value.prefix == row.prefix

    with db.writing() as session:
        session.get(ApiKey, row.id).expires_at = None
        session.get(User, user.id).disabled = True
    with pytest.raises(ApiKeyRefused, match="owner of this API key is disabled"):
        _authenticate(db, key)

    with db.writing() as session:
        session.get(User, user.id).disabled = False
        api_keys.revoke(session=session, prefix=row.prefix, actor="test")
    with pytest.raises(ApiKeyRefused, match="revoked"):
        _authenticate(db, key)
    with db.writing() as session, pytest.raises(ApiKeyError, match="already revoked"):
        api_keys.revoke(session=session, prefix=row.prefix, actor="test")


def test_a_key_is_cut_down_to_its_owners_current_role(db):
    user = make_user(db, role="admin")
    make_user(db, role="admin")  # the last admin could not be demoted
    _, key = _create(db, user, "admin")
    assert _authenticate(db, key).allows(Scope.ADMIN)
    with db.writing() as session:
        session.get(User, user.id).role = Role.VIEWER
    holder = _authenticate(db, key)
    assert (holder.scope, holder.effective, holder.acting_role) == ("admin", "read", "viewer")
    assert holder.allows(Scope.READ) and not holder.allows(Scope.TRADE)


def test_users_revoke_only_their_own_keys_and_admins_any(db):
    alice, bob = make_user(db, role="trader"), make_user(db, role="viewer")
    row, _ = _create(db, alice, "trade")
    with db.writing() as session, pytest.raises(ApiKeyError, match="no API key with prefix"):
        api_keys.revoke(
            session=session,
            prefix=row.prefix,
            actor=bob.username,
            actor_role=Role.VIEWER,
            actor_user_id=bob.id,
        )
    with db.writing() as session:
        api_keys.revoke(
            session=session,
            prefix=row.prefix,
            actor=alice.username,
            actor_role=Role.TRADER,
            actor_user_id=alice.id,
        )
    with db.reading() as session:
        listed = api_keys.listed(session=session, user_id=alice.id)
    assert [(key.prefix, owner, api_keys.state(key)) for key, owner in listed] == [
        (row.prefix, alice.username, "revoked")
    ]


def test_last_used_is_written_at_most_once_a_minute(db):
    user = make_user(db, role="viewer")
    row, _ = _create(db, user)
    now = utcnow()
    with db.writing() as session:
        assert api_keys.mark_used(session=session, key_id=row.id, now=now)
        assert not api_keys.mark_used(
            session=session, key_id=row.id, now=now + timedelta(seconds=30)
        )
        assert api_keys.mark_used(session=session, key_id=row.id, now=now + timedelta(seconds=61))
    with db.reading() as session:
        assert session.get(ApiKey, row.id).last_used_at == now + timedelta(seconds=61)
    assert not api_keys.use_mark_due(now, now + timedelta(seconds=59))
    assert api_keys.use_mark_due(None)


def test_an_allow_list_is_stored_normalized_and_checked(db):
    owner = make_user(db, role="viewer")
    with db.writing() as session:
        row, key = api_keys.create(
            session=session,
            owner=session.get(User, owner.id),
            scope="read",
            actor="test",
            allowed_ips="203.0.113.7, 10.1.2.3/8\n2001:DB8::/32 10.0.0.0/8",
        )
    assert row.allowed_ips == "203.0.113.7/32,10.0.0.0/8,2001:db8::/32"  # duplicates once
    with db.reading() as session:
        holder = api_keys.authenticate(session=session, presented=key)
    assert holder.allows_address("203.0.113.7")
    assert holder.allows_address("10.200.0.1")
    assert holder.allows_address("::ffff:10.0.0.9")  # an IPv4 client on a dual-stack socket
    assert holder.allows_address("2001:db8::1")
    assert not holder.allows_address("203.0.113.8")
    assert not holder.allows_address("11.0.0.1")
    assert not holder.allows_address(None) and not holder.allows_address("not an address")


@pytest.mark.parametrize(
    ("networks", "message"),
    [
        (["10.0.0.256"], "'10.0.0.256' is not an IP address or network"),
        ("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or network"),
        ([f"10.0.0.{n}" for n in range(21)], "at most 20 addresses or networks per key"),
    ],
)
def test_a_bad_allow_list_is_refused(db, networks, message):
    owner = make_user(db, role="viewer")
    with pytest.raises(ApiKeyError, match=message), db.writing() as session:
        api_keys.create(
            session=session,
            owner=session.get(User, owner.id),
            scope="read",
            actor="test",
            allowed_ips=networks,
        )
    assert api_keys.validate_allowed_ips("  ,\n") is None  # nothing given: any address
    assert api_keys.address_allowed(None, "198.51.100.1")
