"""The API keys page's callbacks, called over HTTP as the Dash renderer calls them, by
signed-in users of each role, including requests a hand-made client could send."""

import json
import re

import pytest
import requests
from sqlmodel import select

from botdesk.db.models import ApiKey, Bot
from tests.desk import dash_call, login, render
from tests.factories import PASSWORD, make_api_key, make_bot, make_user

pytestmark = pytest.mark.integration

KEY = re.compile(r"bd_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
ACT = "..api-keys-created.children...api-keys-list.children.."
WEBHOOK = "..api-keys-webhook-result.children...api-keys-webhook-bots.children.."


def _create(client, base, scope="read", owner_id=None, expires=None, name="script", allowed=None):
    revoke_buttons = []
    return dash_call(
        client,
        base,
        ACT,
        inputs=[
            {"id": "api-keys-create", "property": "n_clicks", "value": 1},
            revoke_buttons,
        ],
        changed=["api-keys-create.n_clicks"],
        state=[
            {"id": "api-keys-name", "property": "value", "value": name},
            {"id": "api-keys-scope", "property": "value", "value": scope},
            {"id": "api-keys-expires", "property": "value", "value": expires},
            {"id": "api-keys-owner", "property": "value", "value": owner_id},
            {"id": "api-keys-allowed-ips", "property": "value", "value": allowed},
        ],
    )


def _revoke(client, base, prefix):
    button = {"index": prefix, "type": "api-keys-revoke"}
    return dash_call(
        client,
        base,
        ACT,
        inputs=[
            {"id": "api-keys-create", "property": "n_clicks", "value": None},
            [{"id": button, "property": "n_clicks", "value": 1}],
        ],
        changed=[json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        state=[
            {"id": f"api-keys-{name}", "property": "value", "value": None}
            for name in ("name", "scope", "expires", "owner", "allowed-ips")
        ],
    )


def _signed_in(desk, role):
    user = make_user(desk.db, role=role)
    client, response = login(desk.base, user.username, PASSWORD)
    assert response.status_code == 302
    return user, client


def _keys_of(desk, user) -> list[ApiKey]:
    with desk.db.reading() as session:
        return list(session.exec(select(ApiKey).where(ApiKey.user_id == user.id)))


def test_a_viewer_creates_a_read_key_shown_once_and_revokes_it(desk):
    user, client = _signed_in(desk, "viewer")
    answer = _create(client, desk.base, owner_id=user.id, expires=30)
    assert answer.status_code == 200, answer.text
    [key] = KEY.findall(answer.text)
    assert "shown once" in answer.text
    [row] = _keys_of(desk, user)
    assert (row.prefix, row.scope, row.name) == (key[:11], "read", "script")
    assert row.expires_at is not None
    health = requests.get(f"{desk.base}/api/v1/bots", headers={"X-API-Key": key}, timeout=30)
    assert health.status_code == 200

    listed = _revoke(client, desk.base, row.prefix)
    assert "revoked" in listed.text and KEY.search(listed.text) is None
    assert [k.revoked_at is not None for k in _keys_of(desk, user)] == [True]


def test_a_key_held_to_addresses_is_refused_from_elsewhere(desk):
    user, client = _signed_in(desk, "viewer")
    elsewhere = _create(client, desk.base, owner_id=user.id, allowed="192.0.2.0/24 198.51.100.7")
    [key] = KEY.findall(elsewhere.text)
    shown = json.dumps(elsewhere.json())  # the table says where from
    assert "192.0.2.0/24, 198.51.100.7/32" in shown
    refused = requests.get(f"{desk.base}/api/v1/bots", headers={"X-API-Key": key}, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ip_not_allowed"
    here = _create(client, desk.base, owner_id=user.id, allowed="127.0.0.1")
    [local] = KEY.findall(here.text)
    ok = requests.get(f"{desk.base}/api/v1/bots", headers={"X-API-Key": local}, timeout=30)
    assert ok.status_code == 200
    bad = _create(client, desk.base, owner_id=user.id, allowed="10.0.0.0/40")
    assert "'10.0.0.0/40' is not an IP address or network" in json.dumps(bad.json())
    assert KEY.search(bad.text) is None and len(_keys_of(desk, user)) == 2


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("viewer", "trade", "needs the trader role"),
        ("viewer", "admin", "needs the admin role"),
        ("trader", "admin", "needs the admin role"),
        ("viewer", "root", "unknown scope"),
    ],
)
def test_nobody_gets_a_key_above_their_role_even_by_a_hand_made_request(desk, role, scope, message):
    user, client = _signed_in(desk, role)
    answer = _create(client, desk.base, scope=scope, owner_id=user.id)
    assert answer.status_code == 200
    assert message in answer.text and KEY.search(answer.text) is None
    assert _keys_of(desk, user) == []


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("-5", "expiry: must be between 1 and 3650 days, not -5"),
        ("0", "expiry: must be between 1 and 3650 days, not 0"),
        ("1.5", "expiry: must be a whole number, not 1.5"),
        ("100000", "expiry: must be between 1 and 3650 days, not 100000"),
        ("soon", "expiry: 'soon' is not a number"),
        (-5, "expiry: must be between 1 and 3650 days, not -5"),
    ],
)
def test_an_expiry_outside_1_to_3650_days_is_refused_not_made_never(desk, expires, message):
    user, client = _signed_in(desk, "viewer")
    answer = _create(client, desk.base, owner_id=user.id, expires=expires)
    assert answer.status_code == 200
    assert message in answer.text and KEY.search(answer.text) is None
    assert _keys_of(desk, user) == []


def test_typed_expiries_and_names_within_bounds_make_a_key(desk):
    user, client = _signed_in(desk, "viewer")
    made = _create(client, desk.base, owner_id=user.id, expires=" 3650 ", name="n" * 100)
    assert KEY.search(made.text), made.text[:300]
    [row] = _keys_of(desk, user)
    assert (row.expires_at - row.created_at).days == 3650 and row.name == "n" * 100
    too_long = _create(client, desk.base, owner_id=user.id, name="n" * 101)
    assert "name: at most 100 characters (101 given)" in too_long.text
    assert len(_keys_of(desk, user)) == 1


def test_the_expiry_input_sends_what_was_typed(desk):
    """A text input: a browser sends nothing for -5 in <input type=number min=1>, and the
    key would never expire."""
    _, client = _signed_in(desk, "viewer")
    page = render(client, desk.base, "/api-keys")
    expires = re.search(r'\{"props":\{[^{}]*"id":"api-keys-expires"[^{}]*\}', page).group(0)
    assert '"inputmode":"numeric"' in expires
    assert '"type":"number"' not in expires and '"min"' not in expires and '"max"' not in expires


def test_users_touch_only_their_own_keys_and_admins_anyones(desk):
    alice, alice_client = _signed_in(desk, "trader")
    bob = make_user(desk.db, role="trader")
    bobs_key = make_api_key(desk.db, bob, "trade")

    for_bob = _create(alice_client, desk.base, scope="read", owner_id=bob.id)
    assert "only for yourself" in for_bob.text and _keys_of(desk, bob)[0].prefix == bobs_key[:11]
    assert len(_keys_of(desk, bob)) == 1
    stolen = _revoke(alice_client, desk.base, bobs_key[:11])
    assert "no API key with prefix" in stolen.text
    assert _keys_of(desk, bob)[0].revoked_at is None
    listing = _create(alice_client, desk.base, scope="trade", owner_id=alice.id)
    assert bobs_key[:11] not in listing.text  # her list shows only her keys

    _, admin_client = _signed_in(desk, "admin")
    made = _create(admin_client, desk.base, scope="trade", owner_id=bob.id, name="for bob")
    assert KEY.search(made.text) and len(_keys_of(desk, bob)) == 2
    assert bobs_key[:11] in made.text  # admins see every key
    too_high = _create(admin_client, desk.base, scope="admin", owner_id=bob.id)
    assert "needs the admin role" in too_high.text
    assert "revoked" in _revoke(admin_client, desk.base, bobs_key[:11]).text
    assert _keys_of(desk, bob)[0].revoked_at is not None


def test_only_admins_issue_webhook_tokens_and_the_url_works(desk):
    bot = make_bot(desk.db, symbol="ETHUSDT")

    def issue(client):
        return dash_call(
            client,
            desk.base,
            WEBHOOK,
            inputs=[
                {"id": "api-keys-webhook-issue", "property": "n_clicks", "value": 1},
                {"id": "api-keys-webhook-withdraw", "property": "n_clicks", "value": None},
            ],
            changed=["api-keys-webhook-issue.n_clicks"],
            state=[{"id": "api-keys-webhook-bot", "property": "value", "value": bot.id}],
        )

    _, trader = _signed_in(desk, "trader")
    assert issue(trader).status_code == 403
    with desk.db.reading() as session:
        assert session.get(Bot, bot.id).webhook_token_hash is None

    _, admin = _signed_in(desk, "admin")
    answer = issue(admin)
    assert answer.status_code == 200
    text = json.dumps(answer.json())  # Dash escapes "/" as \u002f
    url = re.search(r"http://127\.0\.0\.1:\d+/webhook/tradingview/whk_[A-Za-z0-9_-]{43}", text)
    assert url and "accepts alerts" in text
    alert = {"alert_id": "page-1", "action": "buy", "symbol": "ETHUSDT", "price": 2500}
    assert requests.post(url.group(0), json=alert, timeout=30).status_code == 201
