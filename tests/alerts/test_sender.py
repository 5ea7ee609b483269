"""The sender delivers the outbox to real receivers on loopback: a JSON webhook, a server
speaking Telegram's Bot API, a real SMTP server. Once each, with the event id; retried
with backoff; failed after the last try; a delivery left by a dead sender is sent again."""

import time
from datetime import timedelta

import pytest
from sqlmodel import select

from botdesk.alerts.sender import Sender, backoff_seconds, claim
from botdesk.db import kill_switch, notification_channels, notifications
from botdesk.db.models import Notification, NotificationDelivery, Role
from botdesk.db.notifications import Event
from botdesk.db.types import utcnow
from tests.receivers import HttpReceiver, SmtpReceiver, TelegramServer


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


def add_channel(db, url, name="ops", events=None, least="info"):
    with db.writing() as session:
        return notification_channels.add(
            session=session, name=name, url=url, events=events, min_severity=least, by="ada"
        )


def event(number: int, kind="engine.stale", severity="critical") -> Event:
    return Event(kind, severity, f"event {number}", f"body {number}", {"n": number}, f"t:{number}")


def deliveries(db) -> list[NotificationDelivery]:
    with db.reading() as session:
        return list(session.exec(select(NotificationDelivery).order_by(NotificationDelivery.id)))


def test_a_kill_switch_release_reaches_a_json_channel_once_with_its_event_id(
    db, settings, receiver
):
    add_channel(db, f"json://{receiver.url}/hook")
    with db.writing() as session:
        kill_switch.engage(session=session, by="tina", role=Role.TRADER, reason="test")
    with db.writing() as session:
        kill_switch.release(session=session, by="ada", role=Role.ADMIN, reason="all clear")
    sender = Sender(db, settings)
    assert sender.drain() == 1
    assert sender.drain() == 0  # nothing sent twice
    (message,) = receiver.messages()
    sent = message.json()
    assert sent["title"] == "[botdesk] Kill switch released by ada"
    assert "Reason: all clear" in sent["message"]
    (row,) = deliveries(db)
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)
    assert message.headers["X-Botdesk-Event-Id"] == row.dedupe_id
    assert sent["message"].endswith(f"botdesk event {row.dedupe_id}")


def test_an_event_rolled_back_with_its_transaction_is_never_announced(db, settings, receiver):
    add_channel(db, f"json://{receiver.url}/hook")
    with pytest.raises(RuntimeError), db.writing() as session:
        kill_switch.engage(session=session, by="tina", role=Role.TRADER, reason="x")
        kill_switch.release(session=session, by="ada", role=Role.ADMIN, reason="y")
        raise RuntimeError("request died")
    assert Sender(db, settings).drain() == 0
    with db.reading() as session:
        assert session.exec(select(Notification)).all() == []


def test_a_dedupe_key_written_twice_is_one_event_and_the_transaction_goes_on(db):
    with db.writing() as session:
        assert notifications.emit(session, event(1)) is True
        assert notifications.emit(session, event(1)) is False
        assert notifications.emit_many(session, [event(1), event(2)]) == 1
    with db.reading() as session:
        assert [n.dedupe_key for n in session.exec(select(Notification))] == ["t:1", "t:2"]


def test_channels_get_only_their_kinds_at_their_least_severity(db, settings, receiver):
    add_channel(db, f"json://{receiver.url}/stale", name="stale", events="engine.stale")
    add_channel(db, f"json://{receiver.url}/critical", name="critical", least="critical")
    with db.writing() as session:
        notifications.emit(session, event(1, "engine.stale", "critical"))
        notifications.emit(session, event(2, "order.filled", "info"))
        notifications.emit(session, event(3, "bot.error", "critical"))
    Sender(db, settings).drain()
    got = sorted((m.path, m.json()["title"]) for m in receiver.messages())
    assert got == [
        ("/critical", "[botdesk] event 1"),
        ("/critical", "[botdesk] event 3"),
        ("/stale", "[botdesk] event 1"),
    ]


def test_a_failing_receiver_is_retried_with_backoff_then_marked_failed(db, settings, receiver):
    settings = settings.model_copy(update={"NOTIFY_MAX_ATTEMPTS": 3, "NOTIFY_BACKOFF_SECONDS": 0.2})
    receiver.status = 503
    add_channel(db, f"json://{receiver.url}/hook")
    with db.writing() as session:
        notifications.emit(session, event(1))
    sender = Sender(db, settings)
    before = utcnow()
    assert sender.run_once() == 1
    (row,) = deliveries(db)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at >= before + timedelta(seconds=0.2)
    assert "503" in row.last_error
    assert sender.run_once() == 0  # not due yet
    for tries in (2, 3):
        deadline = time.monotonic() + 10
        while sender.run_once() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert deliveries(db)[0].attempts == tries
    (row,) = deliveries(db)
    assert (row.status, row.attempts) == ("failed", 3)
    assert len(receiver.messages()) == 3


def test_backoff_doubles_up_to_its_cap(settings):
    settings = settings.model_copy(
        update={"NOTIFY_BACKOFF_SECONDS": 2.0, "NOTIFY_BACKOFF_MAX_SECONDS": 30.0}
    )
    assert [backoff_seconds(n, settings) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_a_receiver_down_then_up_gets_every_queued_event_once(db, settings, receiver):
    settings = settings.model_copy(
        update={"NOTIFY_BACKOFF_SECONDS": 0.2, "NOTIFY_BACKOFF_MAX_SECONDS": 0.5}
    )
    add_channel(db, f"json://{receiver.url}/hook")
    receiver.stop()
    with db.writing() as session:
        notifications.emit_many(session, [event(n) for n in range(5)])
    sender = Sender(db, settings)
    assert sender.run_once() == 5
    assert {row.status for row in deliveries(db)} == {"queued"}
    receiver.start()
    deadline = time.monotonic() + 20
    while any(row.status != "sent" for row in deliveries(db)) and time.monotonic() < deadline:
        sender.run_once()
        time.sleep(0.05)
    titles = sorted(m.json()["title"] for m in receiver.messages())
    assert titles == [f"[botdesk] event {n}" for n in range(5)]


def test_a_delivery_left_sending_by_a_dead_sender_is_sent_again_with_its_id(db, settings, receiver):
    settings = settings.model_copy(update={"NOTIFY_CLAIM_SECONDS": 1})
    add_channel(db, f"json://{receiver.url}/hook")
    with db.writing() as session:
        notifications.emit(session, event(1))
    dead = Sender(db, settings, owner="dead-sender")
    with db.writing() as session:
        from botdesk.alerts.sender import fan_out

        fan_out(session)
    with db.writing() as session:
        assert len(claim(session, owner="dead-sender", claim_seconds=1)) == 1
    alive = Sender(db, settings, owner="alive")
    assert alive.run_once() == 0  # the claim is still fresh
    time.sleep(1.1)
    assert alive.run_once() == 1
    (row,) = deliveries(db)
    assert (row.status, row.attempts) == ("sent", 2)
    (message,) = receiver.messages()
    assert message.headers["X-Botdesk-Event-Id"] == row.dedupe_id
    del dead


def test_a_telegram_channel_through_a_local_bot_api_server(db, settings):
    telegram = TelegramServer().start()
    try:
        settings = settings.model_copy(
            update={"TELEGRAM_API_URL": f"http://127.0.0.1:{telegram.port}"}
        )
        token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
        add_channel(db, f"tgram://{token}/998877")
        with db.writing() as session:
            notifications.emit(session, event(7))
        assert Sender(db, settings).drain() == 1
        (sent,) = telegram.sent_messages()
        assert str(sent["chat_id"]) == "998877"
        assert "event 7" in sent["text"] and "body 7" in sent["text"]
        assert telegram.messages()[-1].path == f"/bot{token}/sendMessage"
        assert deliveries(db)[0].status == "sent"
    finally:
        telegram.stop()
        Sender(db, settings.model_copy(update={"TELEGRAM_API_URL": None}))


def test_an_email_channel_through_a_real_smtp_server(db, settings):
    smtp = SmtpReceiver().start()
    try:
        add_channel(
            db,
            f"mailto://127.0.0.1:{smtp.port}?from=botdesk@example.com&to=ops@example.com",
        )
        with db.writing() as session:
            notifications.emit(session, event(9))
        assert Sender(db, settings).drain() == 1
        deadline = time.monotonic() + 5
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        (mail,) = smtp.messages
        assert mail["To"] == "ops@example.com"
        assert mail["Subject"] == "[botdesk] event 9"
        assert "body 9" in mail.get_body(("plain", "html")).get_content()
    finally:
        smtp.stop()
