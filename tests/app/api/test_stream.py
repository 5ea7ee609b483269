"""GET /api/v1/stream through a real desk process on loopback: a client holding the stream
sees rows written in the database, resumes with Last-Event-ID without loss or repeat, gets
only the channels its key's scope allows, and the limits refuse politely."""

import itertools
import signal
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from botdesk.db import api_keys, kill_switch
from botdesk.db.models import AuditLog, Fill, Order, Role
from tests.desk import RunningDesk
from tests.factories import make_api_key, make_bot, make_user, signal_row
from tests.processes import wait_until
from tests.stream_client import StreamClient

pytestmark = pytest.mark.integration
MAX_PER_KEY = 2
MAX_CLIENTS = 4
QUEUE = 10
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    running = RunningDesk(
        module_database_url,
        tmp_path_factory.mktemp("desk"),
        BOTDESK_STREAM_HEARTBEAT_SECONDS="0.3",
        BOTDESK_STREAM_MAX_PER_KEY=str(MAX_PER_KEY),
        BOTDESK_STREAM_MAX_CLIENTS=str(MAX_CLIENTS),
        BOTDESK_STREAM_POLL_SECONDS="0.05",
        BOTDESK_STREAM_QUEUE_EVENTS=str(QUEUE),
    )
    yield running
    running.stop()


def _key(desk, role="viewer", scope="read") -> str:
    return make_api_key(desk.db, make_user(desk.db, role=role), scope)


def _signal(desk, bot) -> int:
    with desk.db.writing() as session:
        signal = signal_row(bot, next(_numbers), price=Decimal("63443.76"))
        session.add(signal)
    return signal.id


def _fill(desk, bot) -> tuple[int, int]:
    number = next(_numbers)
    with desk.db.writing() as session:
        order = Order(
            bot_id=bot.id, client_order_id=f"st-{number}", symbol="BTCUSDT", side="buy", quantity=1
        )
        session.add(order)
        session.flush()
        fill = Fill(
            order_id=order.id,
            bot_id=bot.id,
            trade_id=f"t-{number}",
            symbol="BTCUSDT",
            side="buy",
            quantity=Decimal("0.25"),
            price=Decimal("63443.76"),
            fee=Decimal("0.01586094"),
        )
        session.add(fill)
    return order.id, fill.id


def _open(desk, key, **options) -> StreamClient:
    """A stream, once a slot is free: a stream an earlier test hung up on holds its slot
    until the desk's next keep-alive write notices."""
    opened = []

    def attempt():
        client = StreamClient(desk.base, key, **options)
        if client.status in (429, 503):
            client.close()
            return False
        opened.append(client)
        return True

    wait_until(attempt, timeout=20, message="a free stream slot")
    client = opened[0]
    assert client.status == 200, client.json()
    assert client.headers["Content-Type"].startswith("text/event-stream")
    return client


def test_a_client_sees_signals_and_fills_as_they_are_written(desk):
    bot = make_bot(desk.db)
    client = _open(desk, _key(desk), channels="signals,fills")
    try:
        signal_id = _signal(desk, bot)
        _, fill_id = _fill(desk, bot)  # its order is written too: not a channel asked for
        events = client.events_until(lambda got: len(got) == 2)
    finally:
        client.close()
    assert [(e.event, e.data["id"]) for e in events] == [
        ("signals", signal_id),
        ("fills", fill_id),
    ]
    assert events[0].id < events[1].id
    assert events[1].data["price"] == "63443.76000000"
    assert events[1].data["fee"] == "0.01586094"


def test_last_event_id_replays_exactly_what_was_missed(desk):
    bot = make_bot(desk.db)
    key = _key(desk)
    first = _open(desk, key, channels="signals")
    try:
        seen = _signal(desk, bot)
        event = first.next_event()
        assert event.data["id"] == seen
    finally:
        first.close()
    missed = [_signal(desk, bot) for _ in range(3)]  # while disconnected
    _fill(desk, bot)  # another channel: not replayed to a signals stream
    again = _open(desk, key, channels="signals", last_event_id=event.id)
    try:
        replayed = again.events_until(lambda got: len(got) == 3)
        live = _signal(desk, bot)
        after = again.next_event()
    finally:
        again.close()
    assert [e.data["id"] for e in replayed] == missed
    assert after.data["id"] == live  # nothing repeated between the replay and live events
    ids = [e.id for e in [event, *replayed, after]]
    assert ids == sorted(set(ids))


def test_without_last_event_id_a_client_starts_from_now(desk):
    bot = make_bot(desk.db)
    _signal(desk, bot)  # before the client connects
    client = _open(desk, _key(desk), channels="signals")
    try:
        fresh = _signal(desk, bot)
        assert client.next_event().data["id"] == fresh
    finally:
        client.close()


def test_channels_follow_the_keys_scope(desk):
    read_key = _key(desk)
    refused = StreamClient(desk.base, read_key, channels="audit")
    assert refused.status == 403
    assert "needs an admin-scoped key" in refused.json()["error"]["message"]
    with desk.db.reading() as session:
        audited = session.exec(
            select(AuditLog).where(AuditLog.target == "GET /api/v1/stream")
        ).all()
    assert any(row.outcome == "refused" and "admin-scoped" in row.reason for row in audited)
    admin_key = _key(desk, role="admin", scope="admin")
    admin = _open(desk, admin_key, channels="audit,kill_switch")
    reader = _open(desk, read_key)  # every channel a read key may have
    try:
        with desk.db.writing() as session:
            kill_switch.engage(session=session, by="ann", role=Role.TRADER, reason="stream test")
        admin_events = admin.events_until(
            lambda got: {"audit", "kill_switch"} <= {e.event for e in got}
        )
        reader_events = reader.events_until(lambda got: "kill_switch" in {e.event for e in got})
    finally:
        admin.close()
        reader.close()
        with desk.db.writing() as session:
            kill_switch.release(session=session, by="root", role=Role.ADMIN, reason="done")
    assert any(e.data.get("action") == "command.kill_switch.engage" for e in admin_events)
    switched = next(e for e in admin_events if e.event == "kill_switch")
    assert switched.data["engaged"] is True and switched.data["reason"] == "stream test"
    assert "audit" not in {e.event for e in reader_events}
    assert "commands" in {e.event for e in reader_events}  # the engage command, read scope


def test_bad_requests_are_refused_with_a_reason(desk):
    key = _key(desk)
    unknown = StreamClient(desk.base, key, channels="trades")
    assert (
        unknown.status == 400 and "unknown channel 'trades'" in unknown.json()["error"]["message"]
    )
    for bad in ("abc", "-1", "\u00b2", "1" * 20):
        refused = StreamClient(desk.base, key, last_event_id=bad)
        assert refused.status == 400, bad
        assert "Last-Event-ID must be an event id" in refused.json()["error"]["message"]
    ahead = StreamClient(desk.base, key, last_event_id=10**12)
    assert ahead.status == 400 and "ahead of the newest" in ahead.json()["error"]["message"]
    no_key = StreamClient(desk.base, "", channels="fills")
    assert no_key.status == 401


def test_limits_refuse_politely_and_free_a_slot_on_hang_up(desk):
    key = _key(desk)
    held = [_open(desk, _key(desk)) for _ in range(MAX_CLIENTS - MAX_PER_KEY)]
    held += [_open(desk, key) for _ in range(MAX_PER_KEY)]
    try:
        third = StreamClient(desk.base, key)
        assert third.status == 429
        assert int(third.headers["Retry-After"]) >= 1
        assert "already holds 2 streams" in third.json()["error"]["message"]
        full = StreamClient(desk.base, _key(desk))
        assert full.status == 503 and int(full.headers["Retry-After"]) >= 1
        assert "most streams" in full.json()["error"]["message"]
        # while every stream slot is taken, pages and API calls are still served
        assert desk.call("GET", "/api/v1/health").status_code == 200
        assert desk.call("GET", "/api/v1/fills", key=key).status_code == 200
        held.pop().close()  # its thread notices at the next keep-alive and lets go
        held.append(_open(desk, key))
    finally:
        for client in held:
            client.close()


def test_a_graceful_stop_ends_each_stream_with_a_closing_event(sqlite_url, tmp_path):
    stopping = RunningDesk(sqlite_url, tmp_path / "stopping")
    try:
        client = _open(stopping, _key(stopping), channels="fills")
        stopping.web.proc.send_signal(signal.SIGTERM)
        event = client.next_event(timeout=30)
        assert event.event == "closing"
        assert "reconnect" in event.data["message"]
        client.close()
        assert stopping.web.proc.wait(timeout=60) == 0
    finally:
        stopping.stop()


def test_a_revoked_key_loses_its_stream(desk):
    key = _key(desk)
    client = _open(desk, key, channels="fills")
    try:
        with desk.db.writing() as session:
            api_keys.revoke(session=session, prefix=key[:11], actor="test")
        event = client.next_event(timeout=30)
    finally:
        client.close()
    assert event.event == "revoked"


def test_a_burst_larger_than_the_queue_arrives_whole_across_drops_and_resumes(desk):
    """More events at once than a client's queue holds (QUEUE): a client the burst drops is
    told where it was and resumes from there; either way each event arrives exactly once."""
    bot = make_bot(desk.db)
    key = _key(desk)
    client = _open(desk, key, channels="signals")
    with desk.db.writing() as session:
        burst = [signal_row(bot, next(_numbers)) for _ in range(QUEUE * 30)]
        session.add_all(burst)
    wanted = [signal.id for signal in burst]
    received, drops = [], 0
    try:
        while len(received) < len(wanted):
            event = client.next_event(timeout=30)
            if event.event == "dropped":
                drops += 1
                assert "reconnect with Last-Event-ID" in event.data["message"]
                client.close()
                client = _open(
                    desk, key, channels="signals", last_event_id=event.data["last_event_id"]
                )
                continue
            received.append(event.data["id"])
    finally:
        client.close()
    assert received == wanted
    print(f"{drops} drops on the way")


def test_resuming_from_an_event_no_longer_kept_starts_with_a_reset(desk):
    bot = make_bot(desk.db)
    key = _key(desk)
    client = _open(desk, key, channels="signals")
    try:
        _signal(desk, bot)
        first = client.next_event()
    finally:
        client.close()
    for _ in range(3):
        _signal(desk, bot)
    kept = _open(desk, key, channels="signals", last_event_id=first.id)  # numbers them
    kept.close()
    with desk.db.writing() as session:  # as the engine's retention would
        session.execute(text("DELETE FROM stream_event WHERE seq <= :seq"), {"seq": first.id + 1})
    again = _open(desk, key, channels="signals", last_event_id=first.id)
    try:
        reset = again.next_event()
        after = again.next_event()
    finally:
        again.close()
    assert reset.event == "reset" and reset.id is None
    assert reset.data["oldest"] == first.id + 2
    assert after.id == first.id + 2
