"""What a poller's tick costs the database, on both databases: a tick when nothing was
committed since the last one sends one statement (the probe) and reads no event; a tick
uses one connection (plus SQLite's writing one when it numbers); two workers' pollers
ticking at once still send every event once, in order."""

import itertools
import json
import socket
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from botdesk.app.api.stream import allowed_for
from botdesk.app.stream.hub import Hub
from botdesk.app.stream.outbox import Outbox
from botdesk.db import api_keys, kill_switch
from botdesk.db.models import Role
from botdesk.db.session import Database
from botdesk.settings import Settings
from tests.app.stream.wire import written
from tests.factories import make_api_key, make_bot, make_user, signal_row

_numbers = itertools.count()


def _hub(db: Database) -> Hub:
    return Hub(db, Settings(DATABASE_URL=db.url, STREAM_HEARTBEAT_SECONDS=300), poller=False)


def _signals(db: Database, bot, count: int) -> None:
    with db.writing() as session:
        session.add_all([signal_row(bot, next(_numbers)) for _ in range(count)])


def _attach(subscriber) -> socket.socket:
    server, client = socket.socketpair()
    server.settimeout(5)
    subscriber.attach(Outbox(server, chunked=False, capacity=subscriber.capacity), after=0)
    client.setblocking(False)
    return client


def _received(client: socket.socket) -> list[tuple[int, str, dict]]:
    """(id, event, data) of every event written so far."""
    return [(int(f["id"]), f["event"], json.loads(f["data"])) for _, f in written(client)]


@contextmanager
def _counted(db: Database, what: str):
    """The statements sent ("before_cursor_execute"; SQLite's own BEGIN is not counted:
    every read on SQLite has one) or the pool checkouts ("checkout")."""
    seen = []
    target = db.engine.pool if what == "checkout" else db.engine

    def listener(*args):
        if what == "checkout" or not args[2].startswith("BEGIN"):
            seen.append(args[2] if what != "checkout" else "checkout")

    event.listen(target, what, listener)
    try:
        yield seen
    finally:
        event.remove(target, what, listener)


def test_a_tick_with_nothing_committed_since_the_last_reads_nothing(db):
    """Before: every tick read the log twice (events waiting? events after the cursor),
    five times a second in every desk worker, whether or not anything had happened."""
    hub = _hub(db)
    client = _attach(hub.subscribe(key_id=1, channels=frozenset({"signals"})))
    _signals(db, make_bot(db), 2)
    hub.tick()
    assert [name for _, name, _ in _received(client)] == ["signals", "signals"]
    with _counted(db, "before_cursor_execute") as statements:
        hub.tick()
    assert len(statements) == 1, statements  # the probe: nothing new, nothing read
    assert _received(client) == []


def test_the_poller_holds_one_connection_from_tick_to_tick(db):
    """Before: a pool checkout every tick (a ping on PostgreSQL, a rollback on return).
    Now the first tick opens the poller's connection and the next ones use it; SQLite
    still takes its writing connection to number events."""
    hub = _hub(db)
    client = _attach(hub.subscribe(key_id=1, channels=frozenset({"signals"})))
    hub.tick()
    bot = make_bot(db)
    with _counted(db, "checkout") as checkouts:
        for _ in range(3):
            _signals(db, bot, 2)
            checkouts.clear()  # the writer's, not the poller's
            hub.tick()
            hub.tick()  # nothing new
            assert len(checkouts) == (1 if db.is_sqlite else 0)
    assert [name for _, name, _ in _received(client)] == ["signals"] * 6


def _drop_connections(db: Database, hub: Hub) -> None:
    """The poller's connection breaks under it: PostgreSQL ends every other session of
    this database (as a restart or an idle timeout would); SQLite's file handle closes."""
    if db.is_sqlite:
        hub._connection.connection.dbapi_connection.close()
        return
    with db.engine.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )


def test_a_dropped_connection_is_replaced_and_no_event_is_lost(db):
    """The held connection may break (database restarted): the tick that finds it broken
    fails (the poller logs it and ticks again), and the next tick, on a new connection,
    sends what was committed meanwhile, once and in order."""
    hub = _hub(db)
    client = _attach(hub.subscribe(key_id=1, channels=frozenset({"signals"})))
    hub.tick()
    bot = make_bot(db)
    _signals(db, bot, 2)
    hub.tick()
    _drop_connections(db, hub)
    _signals(db, bot, 3)
    with pytest.raises(DBAPIError):
        hub.tick()
    hub.tick()
    got = _received(client)
    assert [name for _, name, _ in got] == ["signals"] * 5
    numbers = [number for number, _, _ in got]
    assert numbers == sorted(set(numbers))


def test_one_statement_rechecks_every_clients_key(db):
    """Before: each client's key was read on a session of its own every 30 s (100
    clients: 100 checkouts and reads per 30 s per worker). Now one read for all of them,
    on the poller's connection; a revoked key's client is still ended."""
    hub = Hub(db, Settings(DATABASE_URL=db.url, STREAM_HEARTBEAT_SECONDS=0.01), poller=False)
    owner = make_user(db)
    keys = [make_api_key(db, owner, "read") for _ in range(5)]
    clients, sockets = [], []  # the sockets kept open: a closed one ends its client as gone
    for key in keys:
        with db.reading() as session:
            key_id = api_keys.authenticate(session=session, presented=key).key_id
        subscriber = hub.subscribe(
            key_id=key_id,
            channels=frozenset({"signals"}),
            allowed=allowed_for(frozenset({"signals"}), "127.0.0.1"),
        )
        clients.append(subscriber)
        sockets.append(_attach(subscriber))
    with db.writing() as session:
        api_keys.revoke(session=session, prefix=keys[0][: api_keys.PREFIX_LENGTH], actor="t")
    hub.tick()  # numbers the revocation's audit event (the clients do not read audit)
    threading.Event().wait(0.05)  # past the recheck interval (twice the heartbeat)
    with _counted(db, "before_cursor_execute") as statements:
        hub.tick()
    assert len(statements) == 2, statements  # the probe and the keys
    assert [s.ending for s in clients] == ["revoked"] + [None] * 4


def test_a_tick_woken_by_postgresqls_change_notice_does_not_ask_first(db):
    """PostgreSQL's NOTIFY already says a change committed: the tick it wakes numbers and
    reads at once, without the probe (before: the probe, then the same numbering and
    reads). SQLite has no notice: its ticks still ask first."""
    hub = _hub(db)
    client = _attach(hub.subscribe(key_id=1, channels=frozenset({"signals"})))
    hub.tick()
    _signals(db, make_bot(db), 2)
    with _counted(db, "before_cursor_execute") as statements:
        hub.tick(changed=True)
    probes = [s for s in statements if s.startswith("SELECT (SELECT max(seq)")]
    assert len(probes) == (1 if db.is_sqlite else 0), statements
    assert [name for _, name, _ in _received(client)] == ["signals"] * 2


def test_a_kill_switch_event_is_built_on_the_pollers_connection(db):
    hub = _hub(db)
    client = _attach(hub.subscribe(key_id=1, channels=frozenset({"kill_switch"})))
    hub.tick()
    with db.writing() as session:
        kill_switch.engage(session=session, by="test", role=Role.ADMIN, reason="tick test")
    hub.tick()
    [(_, name, data)] = _received(client)
    assert name == "kill_switch"
    assert data["engaged"] is True and data["reason"] == "tick test"


def test_two_workers_ticking_at_once_send_every_event_once_in_order(db):
    """Each worker's poller numbers what waits (one at a time across workers) and reads
    what is numbered: whoever numbers an event, both send it, once, in number order."""
    workers = [db, Database(db.url)]
    try:
        hubs = [_hub(worker) for worker in workers]
        clients = [
            _attach(hub.subscribe(key_id=1, channels=frozenset({"signals"}))) for hub in hubs
        ]
        for hub in hubs:
            hub.tick()
        bot = make_bot(db)
        writing = threading.Event()
        writing.set()

        def poll(hub: Hub) -> None:
            while writing.is_set():
                hub.tick()

        pollers = [threading.Thread(target=poll, args=(hub,)) for hub in hubs]
        for poller in pollers:
            poller.start()
        for _ in range(30):
            _signals(db, bot, 2)
        writing.clear()
        for poller in pollers:
            poller.join()
        for hub in hubs:
            hub.tick()  # what committed after its last tick
        got = [_received(client) for client in clients]
    finally:
        workers[1].dispose()
    for events in got:
        numbers = [number for number, _, _ in events]
        assert numbers == sorted(set(numbers))  # in order, none twice
        assert len({data["id"] for _, _, data in events}) == 60 == len(events)
    assert got[0] == got[1]
