"""API keys managed over the API, through a real desk: create (shown once), list, read,
revoke, the calling key; scopes capped by the calling key and the owner's role; lifetimes
from 1 to 3650 days; IP allow-lists enforced on every request and refusals audited."""

import pytest
from sqlmodel import col, select

from botdesk.db import api_keys, users
from botdesk.db.models import ApiKey, AuditLog, User
from tests.factories import make_api_key, make_user

pytestmark = pytest.mark.integration

KEYS = "/api/v1/auth/keys"


def create(desk, key, **body):
    return desk.call("POST", KEYS, key, json=body)


def audit_rows(desk, action: str) -> list[AuditLog]:
    with desk.db.reading() as session:
        query = select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))
        return list(session.exec(query))


def test_a_key_creates_a_key_of_its_owner_shown_once(desk):
    viewer = make_user(desk.db, role="viewer")
    key = make_api_key(desk.db, viewer, "read")
    made = create(desk, key, scope="read", name="grafana", expires_days=30)
    assert made.status_code == 201, made.text
    body = made.json()
    new_key, row = body["key"], body["api_key"]
    assert new_key.startswith(row["prefix"]) and row["owner"] == viewer.username
    assert (row["scope"], row["name"], row["state"]) == ("read", "grafana", "active")
    assert row["expires_at"] is not None and row["allowed_ips"] is None
    with desk.db.reading() as session:
        stored = session.get(ApiKey, row["id"])
    assert stored.key_hash == api_keys.hash_key(new_key) and new_key not in stored.key_hash
    assert desk.call("GET", "/api/v1/bots", new_key).status_code == 200
    listed = desk.call("GET", KEYS, key).json()["items"]
    assert new_key not in str(listed) and row["id"] in [item["id"] for item in listed]
    created = audit_rows(desk, "api_key.create")[-1]
    assert created.actor == f"api:{key[:11]}" and created.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("role", "calling", "asked", "status", "says"),
    [
        ("viewer", "read", "trade", 403, "a read-scoped key manages keys of at most its own scope"),
        ("trader", "trade", "read", 201, ""),
        ("trader", "trade", "trade", 201, ""),
        ("trader", "trade", "admin", 403, "at most its own scope, not admin"),
        ("admin", "read", "admin", 403, "at most its own scope"),
    ],
)
def test_a_key_never_makes_a_wider_key(desk, role, calling, asked, status, says):
    key = make_api_key(desk.db, make_user(desk.db, role=role), calling)
    answer = create(desk, key, scope=asked)
    assert answer.status_code == status, answer.text
    if says:
        assert says in answer.json()["error"]["message"]


def test_only_an_admin_key_makes_keys_for_others_and_never_above_their_role(desk):
    viewer = make_user(desk.db, role="viewer")
    trader_key = make_api_key(desk.db, make_user(desk.db, role="trader"), "trade")
    refused = create(desk, trader_key, scope="read", owner=viewer.username)
    assert refused.status_code == 403
    assert create(desk, trader_key, scope="read", owner="nobody").status_code == 403
    admin_key = make_api_key(desk.db, make_user(desk.db, role="admin"), "admin")
    made = create(desk, admin_key, scope="read", owner=viewer.username)
    assert made.status_code == 201 and made.json()["api_key"]["owner"] == viewer.username
    too_wide = create(desk, admin_key, scope="trade", owner=viewer.username)
    assert too_wide.status_code == 400
    assert "needs the trader role" in too_wide.json()["error"]["message"]
    assert create(desk, admin_key, scope="read", owner="nobody").status_code == 404


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {"scope": "read", "expires_days": 0},
            "expires_days: Input should be greater than or equal to 1",
        ),
        ({"scope": "read", "expires_days": 3651}, "less than or equal to 3650"),
        ({"scope": "read", "expires_days": "30"}, "expires_days: Input should be a valid integer"),
        ({"scope": "read", "allowed_ips": ["300.1.1.1"]}, "'300.1.1.1' is not an IP address"),
        ({"scope": "read", "allowed_ips": ["10.0.0.1"] * 21}, "allowed_ips"),
        ({"scope": "owner"}, "scope"),
        ({"scope": "read", "colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_bad_bodies_are_refused_and_create_nothing(desk, body, says):
    user = make_user(desk.db, role="viewer")
    key = make_api_key(desk.db, user, "read")
    answer = create(desk, key, **body)
    assert answer.status_code == 400
    assert says in answer.json()["error"]["message"]
    with desk.db.reading() as session:
        assert len(api_keys.listed(session=session, user_id=user.id)) == 1  # only `key`


def test_an_allow_list_is_enforced_on_every_request_and_refusals_audited(desk):
    user = make_user(desk.db, role="viewer")
    key = make_api_key(desk.db, user, "read")
    here = create(desk, key, scope="read", allowed_ips=["127.0.0.0/8", "2001:db8::/32"]).json()
    elsewhere = create(desk, key, scope="read", allowed_ips=["192.0.2.0/24"]).json()
    assert here["api_key"]["allowed_ips"] == ["127.0.0.0/8", "2001:db8::/32"]
    assert desk.call("GET", "/api/v1/positions", here["key"]).status_code == 200
    for path in ("/api/v1/positions", "/api/v1/auth/keys/current", "/api/v1/analysis/BTCUSDT/smc"):
        refused = desk.call("GET", path, elsewhere["key"])
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "ip_not_allowed"
    refusals = [
        r for r in audit_rows(desk, "api.refused") if r.actor == f"api:{elsewhere['key'][:11]}"
    ]
    assert len(refusals) == 3 and refusals[0].reason == "this API key is not allowed from 127.0.0.1"


def test_lists_show_your_own_keys_and_an_admins_show_everyones(desk):
    alice, bob = make_user(desk.db, role="viewer"), make_user(desk.db, role="viewer")
    alice_key, bob_key = make_api_key(desk.db, alice, "read"), make_api_key(desk.db, bob, "read")
    for number in range(3):
        create(desk, alice_key, scope="read", name=f"alice {number}")
    mine = desk.call("GET", KEYS, alice_key, params={"limit": 2}).json()
    assert [item["owner"] for item in mine["items"]] == [alice.username] * 2
    rest = desk.call("GET", KEYS, alice_key, params={"limit": 2, "cursor": mine["next_cursor"]})
    assert len(rest.json()["items"]) == 2 and rest.json()["next_cursor"] is None
    peek = desk.call("GET", KEYS, bob_key, params={"user": alice.username}).json()["items"]
    assert {item["owner"] for item in peek} == {bob.username}  # not an admin: own keys only
    admin_key = make_api_key(desk.db, make_user(desk.db, role="admin"), "admin")
    theirs = desk.call("GET", KEYS, admin_key, params={"user": alice.username}).json()["items"]
    assert len(theirs) == 4 and {item["owner"] for item in theirs} == {alice.username}
    alice_id = theirs[0]["id"]
    assert desk.call("GET", f"{KEYS}/{alice_id}", bob_key).status_code == 404
    assert desk.call("GET", f"{KEYS}/{alice_id}", admin_key).json()["owner"] == alice.username
    assert desk.call("GET", KEYS, admin_key, params={"user": "ghost"}).status_code == 404


def test_revoking_stops_a_key_at_once(desk):
    owner = make_user(desk.db, role="trader")
    read_key = make_api_key(desk.db, owner, "read")
    trade = create(desk, make_api_key(desk.db, owner, "trade"), scope="trade").json()
    spare = create(desk, read_key, scope="read").json()
    narrower = desk.call("DELETE", f"{KEYS}/{trade['api_key']['id']}", read_key)
    assert narrower.status_code == 403  # a read key does not revoke a trade key
    revoked = desk.call("DELETE", f"{KEYS}/{spare['api_key']['id']}", read_key)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert desk.call("GET", "/api/v1/bots", spare["key"]).status_code == 401
    again = desk.call("DELETE", f"{KEYS}/{spare['api_key']['id']}", read_key)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_revoked"
    stranger = make_api_key(desk.db, make_user(desk.db, role="viewer"), "read")
    assert desk.call("DELETE", f"{KEYS}/{trade['api_key']['id']}", stranger).status_code == 404
    assert audit_rows(desk, "api_key.revoke")[-1].actor == f"api:{read_key[:11]}"


def test_the_current_key_says_what_it_may_do_now(desk):
    owner = make_user(desk.db, role="trader")
    key = make_api_key(desk.db, owner, "trade")
    current = desk.call("GET", f"{KEYS}/current", key).json()
    assert (current["scope"], current["effective_scope"]) == ("trade", "trade")
    with desk.db.writing() as session:
        users.set_role(session=session, user=session.get(User, owner.id), role="viewer")
    demoted = desk.call("GET", f"{KEYS}/current", key).json()
    assert (demoted["scope"], demoted["effective_scope"]) == ("trade", "read")


def test_a_lifetime_written_as_a_whole_json_number_is_taken(desk):
    key = make_api_key(desk.db, make_user(desk.db, role="viewer"), "read")
    json_body = {"headers": {"Content-Type": "application/json"}}
    made = desk.call("POST", KEYS, key, data='{"scope": "read", "expires_days": 30.0}', **json_body)
    assert made.status_code == 201, made.text
    half = desk.call("POST", KEYS, key, data='{"scope": "read", "expires_days": 30.5}', **json_body)
    assert half.status_code == 400
    flag = desk.call("POST", KEYS, key, data='{"scope": "read", "expires_days": true}', **json_body)
    assert flag.status_code == 400
