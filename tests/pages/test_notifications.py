"""The Notifications page on a real desk: an admin adds a channel (stored encrypted, shown
masked, audited), presses Test and a real JSON receiver gets the message, the delivery is
listed as sent; a bad URL is explained and nothing is stored; a trader's press is
refused on the server."""

import json

import pytest
from sqlmodel import select

from botdesk.db import notification_channels
from botdesk.db.models import AuditLog, NotificationChannel
from tests.desk import click, render
from tests.factories import TEST_SETTINGS
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("ana", "admin")


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


def add(desk, admin, name, url, events=(), severity="info"):
    values = {
        "notifications-name.value": name,
        "notifications-url.value": url,
        "notifications-events.value": list(events),
        "notifications-severity.value": severity,
    }
    return click(admin, desk.base, "notifications-add", values)


def channels(db) -> dict[str, NotificationChannel]:
    with db.reading() as session:
        return {c.name: c for c in notification_channels.all_channels(session=session)}


def test_an_admin_adds_a_channel_tests_it_and_sees_it_sent(desk, admin, receiver):
    url = f"json://{receiver.url}/secret-path-token"
    response = add(desk, admin, "ops-hook", url, ["kill_switch.engaged"], "warning")
    body = response.json()["response"]
    assert body["notifications-url"]["value"] == ""  # the secret never comes back
    assert url not in response.text and "secret-path-token" not in response.text
    assert f"json://{receiver.url}/se…" in json.dumps(body, ensure_ascii=False)
    stored = channels(desk.db)["ops-hook"]
    assert notification_channels.url_of(stored, TEST_SETTINGS) == url
    assert "secret-path-token" not in stored.url_encrypted
    assert (stored.events, stored.min_severity) == ("kill_switch.engaged", "warning")

    tested = click(
        admin, desk.base, "notifications-test", {"notifications-target.value": "ops-hook"}
    )
    assert "Test message delivered to ops-hook" in tested.text
    (message,) = receiver.messages()
    assert message.path == "/secret-path-token"
    assert message.json()["title"] == "[botdesk] botdesk test message for ops-hook"
    page = render(admin, desk.base, "/notifications")
    assert "sent" in page and "botdesk test message for ops-hook" in page
    assert "secret-path-token" not in page
    with desk.db.reading() as session:
        actions = [
            (row.actor, row.action, row.target)
            for row in session.exec(select(AuditLog).where(AuditLog.action.startswith("notify.")))
        ]
    assert actions == [
        ("ana", "notify.channel.add", "channel:ops-hook"),
        ("ana", "notify.channel.test", "channel:ops-hook"),
    ]


@pytest.mark.parametrize(
    ("name", "url", "message"),
    [
        ("bad-scheme", "nosuch://x/y", "Apprise cannot deliver to nosuch:// URLs"),
        ("no-scheme", "just text", "not an Apprise URL"),
        ("", "json://127.0.0.1:9/h", "the name is required"),
        ("no-url", "", "the URL is required"),
    ],
)
def test_a_bad_channel_is_explained_and_nothing_is_stored(desk, admin, name, url, message):
    before = set(channels(desk.db))
    response = add(desk, admin, name, url)
    assert message in json.dumps(response.json(), ensure_ascii=False)
    assert set(channels(desk.db)) == before


def test_a_trader_cannot_add_test_or_remove(desk, admin, receiver):
    trader = desk.signed_in("tom", "trader")
    before = set(channels(desk.db))
    response = add(desk, trader, "sneaky", f"json://{receiver.url}/x")
    assert response.status_code in (204, 403)
    assert set(channels(desk.db)) == before
    seen = len(receiver.messages())
    target = {"notifications-target.value": "ops-hook"}
    assert click(trader, desk.base, "notifications-test", target).status_code in (204, 403)
    assert click(trader, desk.base, "notifications-remove", target).status_code in (204, 403)
    assert len(receiver.messages()) == seen and "ops-hook" in channels(desk.db)
    removed = click(admin, desk.base, "notifications-remove", target)
    assert "Removed ops-hook" in removed.text and "ops-hook" not in channels(desk.db)
