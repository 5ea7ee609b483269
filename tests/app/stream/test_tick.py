"""What a poller's tick costs the database, on both databases: a tick when nothing was
committed since the last one sends one statement (the probe) and reads no event; a tick
uses one connection (plus SQLite's writing one when it numbers); two workers' pollers
ticking at once still send every event once, in order."""

import itertools
import json
import socket
import threading
from contextlib import contextmanager

from sqlalchemy import event

from botdesk.app.stream.hub import Hub
from botdesk.app.stream.outbox import Outbox
from botdesk.db import kill_switch
from botdesk.db.models import Role
from botdesk.db.session import Database
from botdesk.settings import Settings
from tests.app.stream.wire import written
from tests.factories import make_bot, signal_row

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


def test_a_tick_uses_one_connection_and_sqlite_one_more_to_number(db):
    """Before: three pool checkouts (each a ping on PostgreSQL) and three transactions."""
    hub = _hub(db)
    client = _attach(hub.subscribe(key_id=1, channels=frozenset({"signals"})))
    hub.tick()
    _signals(db, make_bot(db), 3)
    with _counted(db, "checkout") as checkouts:
        hub.tick()
    assert len(checkouts) == (2 if db.is_sqlite else 1)
    assert [name for _, name, _ in _received(client)] == ["signals"] * 3


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
