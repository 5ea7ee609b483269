"""The stream hub in-process on a real database, its clients on real socket pairs: one
tick writes each event to every subscriber of its channel from the ticking thread itself
(no thread per client wakes), keep-alives and key rechecks ride the same pass, and a
subscriber that falls behind is dropped (its frames freed) instead of buffering without
bound."""

import itertools
import socket
import threading

import pytest

from botdesk.app.api.stream import allowed_for
from botdesk.app.stream.hub import Hub, StreamRefused
from botdesk.app.stream.outbox import Outbox
from botdesk.db import api_keys, stream_events
from botdesk.db.session import Database
from botdesk.settings import Settings
from tests.app.stream.wire import written
from tests.factories import make_api_key, make_bot, make_position, make_user, signal_row

QUEUE = 10
_numbers = itertools.count()


@pytest.fixture
def hub(db: Database):
    settings = Settings(
        DATABASE_URL=db.url,
        STREAM_QUEUE_EVENTS=QUEUE,
        STREAM_MAX_PER_KEY=2,
        STREAM_HEARTBEAT_SECONDS=300,
    )
    return Hub(db, settings, poller=False)  # each test drives the ticks itself


def _signals(db: Database, bot, count: int) -> None:
    with db.writing() as session:
        for _ in range(count):
            session.add(signal_row(bot, next(_numbers)))


def _attach(subscriber, *, after: int = 0, send_buffer: int | None = None) -> socket.socket:
    """The client's end of a socket pair whose other end the subscriber writes to."""
    server, client = socket.socketpair()
    if send_buffer:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    server.settimeout(5)  # as the stream route does
    subscriber.attach(Outbox(server, chunked=False, capacity=subscriber.capacity), after=after)
    client.setblocking(False)
    return client


def _subscribe_with(db: Database, hub: Hub, key: str, channels: set[str]):
    """A subscriber as the stream route makes one for a client presenting `key`."""
    with db.reading() as session:
        holder = api_keys.authenticate(session=session, presented=key)
    return hub.subscribe(
        key_id=holder.key_id,
        channels=frozenset(channels),
        allowed=allowed_for(frozenset(channels), "127.0.0.1"),
    )


def _events(client: socket.socket) -> list[tuple[str, str]]:
    """(event or comment, its data line) for everything written so far."""
    return [
        (fields.get("event", block), fields.get("data", "")) for block, fields in written(client)
    ]


def test_a_tick_writes_each_event_to_its_channels_subscribers(db, hub):
    signals = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    positions = hub.subscribe(key_id=2, channels=frozenset({"positions"}))
    hub.tick()  # starts from what is there now
    signals_client, positions_client = _attach(signals), _attach(positions)
    bot = make_bot(db)
    _signals(db, bot, 2)
    position = make_position(db, bot)
    hub.tick()
    got_signals = _events(signals_client)
    got_positions = _events(positions_client)
    assert [event for event, _ in got_signals] == ["signals", "signals"]
    assert [event for event, _ in got_positions] == ["positions"]
    assert f'"id":{position.id},' in got_positions[0][1]
    hub.tick()
    assert _events(signals_client) == []  # written once


def test_one_thread_writes_to_every_client(db, hub):
    """What made 100 clients cost the desk: one thread per client woke on every tick. Now
    the ticking thread writes to all of them, so none other needs to run."""
    subscribers = [hub.subscribe(key_id=n, channels=frozenset({"signals"})) for n in range(30)]
    hub.tick()
    clients = [_attach(subscriber) for subscriber in subscribers]
    threads = threading.active_count()
    _signals(db, make_bot(db), 1)
    hub.tick()
    assert threading.active_count() == threads
    assert all([event for event, _ in _events(client)] == ["signals"] for client in clients)


def test_the_catch_up_and_the_poller_send_each_event_once(db, hub):
    """Frames kept while the handler caught up are sent after it, those it sent skipped."""
    bot = make_bot(db)
    subscriber = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    _signals(db, bot, 3)
    hub.tick()  # kept: the client is still catching up
    with db.reading() as session:
        numbers = [e.seq for e in stream_events.after(session=session, seq=0)]
    client = _attach(subscriber, after=numbers[1])  # its catch-up sent the first two
    assert [event for event, _ in _events(client)] == ["signals"]
    hub.tick()
    assert _events(client) == []


def test_a_subscriber_that_falls_behind_while_catching_up_is_dropped_and_freed(db, hub):
    slow = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    hub.tick()
    bot = make_bot(db)
    _signals(db, bot, QUEUE - 1)
    hub.tick()
    assert not slow.dropped  # 9 kept of 10
    _signals(db, make_bot(db), 5)
    hub.tick()
    assert slow.dropped
    assert slow.wait() == ("dropped", None, b"")  # nothing kept for it


def test_a_client_that_stops_reading_is_dropped_at_its_queue_bound(db, hub):
    slow = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    hub.tick()
    client = _attach(slow, send_buffer=4096)
    bot = make_bot(db)
    ticks = 0
    while not slow.dropped:  # its socket fills, then QUEUE frames wait, then one more
        _signals(db, bot, 5)
        hub.tick()
        ticks += 1
        assert ticks < 200
    ending, last, rest = slow.wait()
    assert ending == "dropped" and last is not None
    received = b"".join(_events_raw(client)) + rest
    assert received.endswith(b"\n\n")  # whole frames, the one begun finished by `rest`
    assert received.count(b"event: signals") >= 1


def _events_raw(client: socket.socket) -> list[bytes]:
    got = []
    try:
        while chunk := client.recv(1 << 20):
            got.append(chunk)
    except BlockingIOError:
        pass
    return got


def test_keep_alives_and_key_rechecks_ride_the_pollers_pass(db):
    settings = Settings(DATABASE_URL=db.url, STREAM_HEARTBEAT_SECONDS=0.01)
    hub = Hub(db, settings, poller=False)
    owner = make_user(db)
    keys = [make_api_key(db, owner, "read") for _ in range(2)]
    kept, revoked = (_subscribe_with(db, hub, key, {"fills"}) for key in keys)
    kept_client, revoked_client = _attach(kept), _attach(revoked)
    threading.Event().wait(0.05)  # quieter than the heartbeat, past the recheck
    hub.tick()
    assert [event for event, _ in _events(kept_client)] == [": keep-alive"]
    assert [event for event, _ in _events(revoked_client)] == [": keep-alive"]
    with db.writing() as session:
        api_keys.revoke(session=session, prefix=keys[1][: api_keys.PREFIX_LENGTH], actor="t")
    threading.Event().wait(0.05)
    hub.tick()
    assert revoked.wait()[0] == "revoked"
    assert kept.ending is None


def test_limits_per_key_then_per_worker(db):
    settings = Settings(DATABASE_URL=db.url, STREAM_MAX_CLIENTS=3, STREAM_MAX_PER_KEY=2)
    hub = Hub(db, settings, poller=False)
    for _ in range(2):
        hub.subscribe(key_id=1, channels=frozenset({"fills"}))
    with pytest.raises(StreamRefused) as per_key:
        hub.subscribe(key_id=1, channels=frozenset({"fills"}))
    assert per_key.value.status == 429
    last = hub.subscribe(key_id=2, channels=frozenset({"fills"}))
    with pytest.raises(StreamRefused) as per_worker:
        hub.subscribe(key_id=3, channels=frozenset({"fills"}))
    assert per_worker.value.status == 503
    hub.unsubscribe(last)
    hub.subscribe(key_id=3, channels=frozenset({"fills"}))
    hub.stop(wait=True)
    with pytest.raises(StreamRefused):
        hub.subscribe(key_id=4, channels=frozenset({"fills"}))


def test_a_stop_ends_every_stream_as_closing(db, hub):
    subscriber = hub.subscribe(key_id=1, channels=frozenset({"fills"}))
    _attach(subscriber)
    hub.stop()
    assert subscriber.wait()[0] == "closing"


def test_an_event_numbered_between_subscribing_and_the_first_tick_is_offered(db, hub):
    """The client's catch-up read (right after subscribing) found nothing new; another
    desk worker's poller then numbered an event before this worker's first tick."""
    bot = make_bot(db)
    subscriber = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    _signals(db, bot, 1)
    with db.writing() as session:
        stream_events.stamp(session=session)
    hub.tick()
    client = _attach(subscriber)
    assert [event for event, _ in _events(client)] == ["signals"]


def test_a_client_that_takes_nothing_for_the_stall_time_is_let_go(db):
    """Even with room in its queue: a client that stopped reading in a quiet spell would
    otherwise hold its slot and its thread for ever."""
    settings = Settings(DATABASE_URL=db.url, STREAM_QUEUE_EVENTS=1000)
    hub = Hub(db, settings, poller=False)
    subscriber = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    hub.tick()
    client = _attach(subscriber, send_buffer=4096)  # a client that never reads
    _signals(db, make_bot(db), 100)  # more than its socket holds
    hub.tick()
    subscriber.send(heartbeat=300, stall=3600)
    assert subscriber.ending is None  # frames wait, but not for an hour yet
    subscriber.send(heartbeat=300, stall=0)
    assert subscriber.wait()[0] == "gone"
    client.close()
