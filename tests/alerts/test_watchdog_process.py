"""The watchdog as a real process beside a real engine and desk, with a JSON receiver on
loopback: the kill switch engaged from the CLI is one message naming it, the user and the
reason; an engine killed with -9 is announced stale once within the stale time + 10 s and
recovered once after a restart; a sender killed with -9 loses nothing; a receiver down,
then up, gets every queued event once."""

import getpass
import json
import time
from collections import Counter

import pytest
from sqlmodel import select

from botdesk.db import notifications
from botdesk.db.models import LogEntry, NotificationDelivery
from botdesk.db.notifications import Event
from tests.conftest import make_env
from tests.factories import make_bot
from tests.processes import run_cli, start_web, wait_until
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.integration
STALE_SECONDS = 3


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


def titles(receiver) -> list[str]:
    return [m.json()["title"] for m in receiver.messages()]


def event_ids(receiver) -> list[str]:
    return [m.headers["X-Botdesk-Event-Id"] for m in receiver.messages()]


def add_channel(env, receiver, *extra):
    done = run_cli(["notify", "add", "ops", f"json://{receiver.url}/hook", *extra], env)
    assert done.returncode == 0, done.stderr
    assert f"json://{receiver.url}/ho…" in done.stdout  # shown masked


def test_kill_switch_and_a_dead_engine_reach_the_receiver_once(db, tmp_path, processes, receiver):
    make_bot(db, state="running")
    env = make_env(
        db.url,
        tmp_path,
        BOTDESK_HEARTBEAT_STALE_SECONDS=str(STALE_SECONDS),
        BOTDESK_REPLAY_SPEED="600",
    )
    # the daily summary (due until 06:00 UTC after a missed midnight) is not this test's
    add_channel(env, receiver, "--events", "kill_switch.engaged,engine.stale,engine.recovered")
    engine = processes.start(["engine"], env, name="engine")
    web, _base = start_web(env, tmp_path / "web.log")
    watchdog = processes.start(["watchdog"], env, name="watchdog")
    try:
        engaged = run_cli(["kill-switch", "engage", "--reason", "venue acting up"], env)
        assert engaged.returncode == 0, engaged.stderr
        receiver.wait_for(lambda got: len(got) >= 1, timeout=60)
        time.sleep(2)  # nothing else follows
        (message,) = receiver.messages()
        sent = message.json()
        assert sent["title"] == f"[botdesk] Kill switch ENGAGED by cli:{getpass.getuser()}"
        assert "Reason: venue acting up" in sent["message"]
        assert "halted 1 bot(s), cancelled" in sent["message"]

        engine.kill_hard()
        killed = time.monotonic()
        receiver.wait_for(
            lambda got: any("STALE" in t for t in titles(receiver)), timeout=STALE_SECONDS + 10
        )
        assert time.monotonic() - killed <= STALE_SECONDS + 10
        time.sleep(3)
        assert [t for t in titles(receiver) if "STALE" in t] == ["[botdesk] Engine heartbeat STALE"]

        processes.start(["engine"], env, name="engine-again")
        receiver.wait_for(lambda got: any("recovered" in t for t in titles(receiver)), timeout=60)
        time.sleep(3)
        assert titles(receiver) == [
            f"[botdesk] Kill switch ENGAGED by cli:{getpass.getuser()}",
            "[botdesk] Engine heartbeat STALE",
            "[botdesk] Engine heartbeat recovered",
        ]
    finally:
        web.stop()
        assert watchdog.alive(), watchdog.output()


def emit_events(db, count: int, prefix: str) -> None:
    with db.writing() as session:
        notifications.emit_many(
            session,
            [
                Event("bot.error", "critical", f"{prefix} {n}", "body", {}, f"{prefix}:{n}")
                for n in range(count)
            ],
        )


def statuses(db) -> Counter:
    with db.reading() as session:
        return Counter(row.status for row in session.exec(select(NotificationDelivery)))


def test_a_sender_killed_with_minus_9_loses_nothing(db, tmp_path, processes, receiver):
    """The worst case a receiver sees: the message in flight when the sender died comes
    again after the restart, with the same event id; none is missing."""
    receiver.delay = 0.2  # a slow receiver: the kill lands while messages are in flight
    env = make_env(db.url, tmp_path, BOTDESK_NOTIFY_CLAIM_SECONDS="2")
    add_channel(env, receiver, "--events", "bot.error")
    emit_events(db, 30, "event")
    first = processes.start(["watchdog"], env, name="watchdog")
    receiver.wait_for(lambda got: len(got) >= 8, timeout=60)
    first.kill_hard()
    assert statuses(db)["sending"] > 0  # it died holding claims
    processes.start(["watchdog"], env, name="watchdog-again")
    wait_until(lambda: statuses(db) == Counter(sent=30), timeout=90, message="all 30 sent")
    received = Counter(event_ids(receiver))
    with db.reading() as session:
        expected = {row.dedupe_id for row in session.exec(select(NotificationDelivery))}
    assert set(received) == expected  # none lost
    repeats = {event_id: n for event_id, n in received.items() if n > 1}
    assert sum(repeats.values()) - len(repeats) <= 1, repeats  # at most the one in flight
    with db.reading() as session:  # the watchdog's warning is on the desk's Logs page
        kept = session.exec(select(LogEntry).where(LogEntry.process == "watchdog")).all()
    assert any("left sending by" in line.message for line in kept), kept


def test_a_receiver_down_then_up_gets_every_queued_event_once(db, tmp_path, processes, receiver):
    env = make_env(
        db.url,
        tmp_path,
        BOTDESK_NOTIFY_BACKOFF_SECONDS="1",
        BOTDESK_NOTIFY_BACKOFF_MAX_SECONDS="4",
    )
    add_channel(env, receiver, "--events", "bot.error")
    receiver.stop()
    processes.start(["watchdog"], env, name="watchdog")
    emit_events(db, 10, "queued")
    wait_until(lambda: statuses(db)["queued"] == 10 and _tried(db), timeout=30, message="tries")
    time.sleep(15)  # the receiver stays down; tries go on with backoff
    receiver.start()
    wait_until(lambda: statuses(db) == Counter(sent=10), timeout=60, message="all sent")
    assert sorted(titles(receiver)) == sorted(f"[botdesk] queued {n}" for n in range(10))
    assert len(set(event_ids(receiver))) == 10


def _tried(db) -> bool:
    with db.reading() as session:
        rows = session.exec(select(NotificationDelivery)).all()
    return bool(rows) and all(row.attempts >= 1 and row.last_error for row in rows)


def _payload(message) -> dict:
    return json.loads(message.body)
