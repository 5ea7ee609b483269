"""CPU and statements of one desk worker's stream poller tick, the old ticks beside the new.

The poller (app/stream/hub) numbers, reads and builds the new events once per tick and
writes them to every client's socket itself; the clients here are real socket pairs read
between ticks. A busy tick follows a commit of two signals by another connection, as the
engine's would; an idle tick follows no commit (PostgreSQL's pollers tick at least once a
second, SQLite's five times a second, whether or not anything happened). CPU is the ticking
thread's own (time.thread_time), averaged over the ticks; statements are those the tick's
connections sent (SQLAlchemy's before_cursor_execute; BEGIN, COMMIT and pool pings are not
statements there, so each transaction costs more round trips than it shows; SQLite's
BEGIN, which botdesk sends itself, is counted).

The old tick (before the stream's PostgreSQL tick was made cheap): a read transaction to
look for unnumbered events, a write transaction numbering them with one UPDATE per event,
and a read transaction for the events and their rows through the ORM, each on a pool
checkout of its own, whether or not anything was committed. The checkout tick (the last
one before the poller held its connection): one pool checkout per tick (autocommit on
PostgreSQL), one probe (the newest number, whether events wait) that ends an idle tick, the
numbering in one set-based statement (one round trip on PostgreSQL), the events and rows as
plain rows, their statements built once. The held tick: the same on a connection the poller
keeps from tick to tick, and a busy tick (PostgreSQL's change notice woke it) numbers at
once without the probe. (The old tick here builds its frames with today's frames.build,
so its figure is if anything below what it cost.) The three alternate in rounds (the
machine is shared).

    .venv/bin/python bench/stream_tick.py [--database-url URL] [--ticks 100] [--rounds 3]

Questions it answers (issue 17): what does a tick cost the desk, busy and idle, and does it
cost more with more clients?
"""

import argparse
import itertools
import os
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import event, select, text, update
from sqlmodel import col

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botdesk.app.stream.hub import READ_BATCH, Hub  # noqa: E402
from botdesk.app.stream.outbox import Outbox  # noqa: E402
from botdesk.db import stream_events  # noqa: E402
from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.models import StreamEvent  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from botdesk.settings import Settings  # noqa: E402
from tests.factories import make_bot, signal_row  # noqa: E402

CLIENTS = (1, 50)


class OldHub(Hub):
    """The tick as it was: three transactions, ORM reads, one UPDATE per event."""

    def _fan_out(self, connection, changed: bool) -> None:
        with self.db.reading() as session:
            waiting = stream_events.unstamped(session=session)
        if waiting:
            with self.db.writing() as session:
                _old_stamp(session)
        more = True
        while more:
            with self.db.reading() as session:
                statement = (
                    select(StreamEvent)
                    .where(col(StreamEvent.seq) > self._cursor)
                    .order_by(col(StreamEvent.seq))
                    .limit(READ_BATCH)
                )
                more = self._deliver(session, list(session.scalars(statement).all()))


class CheckoutHub(Hub):
    """The tick before the poller held its connection: a pool checkout per tick (on
    PostgreSQL a ping, an isolation level set, a rollback on return), and a probe first
    even when PostgreSQL's change notice woke it."""

    def tick(self, *, changed: bool = False) -> None:
        try:
            super().tick()
        finally:
            self.close()


def _old_stamp(session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x5354524D})
    top = stream_events.newest(session=session)
    ids = session.scalars(
        select(StreamEvent.id)
        .where(col(StreamEvent.seq).is_(None))
        .order_by(col(StreamEvent.id))
        .limit(stream_events.STAMP_BATCH)
    ).all()
    if ids:
        numbers = [{"id": event_id, "seq": top + n} for n, event_id in enumerate(ids, 1)]
        session.execute(update(StreamEvent), numbers)


def drain(client: socket.socket) -> None:
    try:
        while client.recv(1 << 20):
            pass
    except BlockingIOError:
        pass


class Statements:
    def __init__(self, db: Database):
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1


class ServerCpu:
    """PostgreSQL on this machine: CPU seconds of this database's client backends (its
    own work for the ticks: planning, executing, committing); None elsewhere."""

    def __init__(self, db: Database):
        self.pids: list[int] = []
        if not db.is_sqlite:
            with db.reading() as session:
                self.pids = list(
                    session.scalars(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND backend_type = 'client backend'"
                        )
                    )
                )

    def seconds(self) -> float | None:
        if not self.pids:
            return None
        total = 0.0
        for pid in self.pids:
            try:  # ms on a CPU, to the microsecond (the backend is one thread)
                sched = Path(f"/proc/{pid}/sched").read_text()
            except OSError:
                return None  # not on this machine (or gone)
            total += float(sched.split("se.sum_exec_runtime")[1].split(":")[1].split()[0])
        return total / 1000


HUBS = {"old": OldHub, "checkout": CheckoutHub, "held": Hub}


def tick_cost(db, hub_class, bot, clients: int, ticks: int, busy: bool, numbers, statements):
    """(ms of CPU, statements, ms of PostgreSQL's CPU or None) per tick."""
    hub = hub_class(db, Settings(DATABASE_URL=db.url), poller=False)
    subscribers = [
        hub.subscribe(key_id=n, channels=frozenset({"signals", "fills"})) for n in range(clients)
    ]
    hub.tick()
    readers = []
    for subscriber in subscribers:
        server, client = socket.socketpair()
        server.settimeout(30)  # as the stream route does
        client.setblocking(False)
        subscriber.attach(Outbox(server, chunked=True, capacity=1000), after=0)
        readers.append((server, client))
    spent = 0.0
    sent = 0
    server = ServerCpu(db)
    server_spent = 0.0
    for _ in range(ticks):
        if busy:
            with db.writing() as session:
                session.add_all([signal_row(bot, next(numbers)), signal_row(bot, next(numbers))])
        before = statements.count
        server_before = server.seconds()
        started = time.thread_time()
        hub.tick(changed=busy)  # PostgreSQL's notice wakes a busy tick
        spent += time.thread_time() - started
        sent += statements.count - before
        if server_before is not None:
            server_spent += server.seconds() - server_before
        for _, client in readers:
            drain(client)
    hub.stop()
    hub.close()
    for pair in readers:
        for end in pair:
            end.close()
    return spent / ticks * 1000, sent / ticks, server_spent / ticks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--ticks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'tick.db'}"
    upgrade(url)
    db = Database(url)
    statements = Statements(db)
    bot = make_bot(db, name=f"stream-tick-{time.time_ns()}")  # a database used before too
    numbers = itertools.count(time.time_ns())
    cases = [(n, True) for n in CLIENTS] + [(CLIENTS[-1], False)]
    results = defaultdict(list)
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for clients, busy in cases:
            for name, hub_class in HUBS.items():
                cost = tick_cost(db, hub_class, bot, clients, args.ticks, busy, numbers, statements)
                results[(clients, busy, name)].append(cost)
    db.dispose()
    print(
        f"stream poller tick, {db.url.split(':')[0]}, {args.rounds} rounds of {args.ticks} "
        f"ticks, the three alternating; load avg "
        f"{' '.join(f'{x:.2f}' for x in load_before)} -> "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    server = "" if db.is_sqlite else " + PostgreSQL's"
    print(
        f"  per tick: the poller's CPU{server}, statements; old tick | a checkout per tick "
        "| connection held (held/checkout CPU)"
    )
    for clients, busy in cases:
        old, checkout, new = (_mean(results[(clients, busy, name)]) for name in HUBS)
        label = f"{'busy (2 new signals)' if busy else 'idle (nothing new)'}, {clients:>2} clients"
        print(
            f"  {label:32s} {_cost(old, db)} | {_cost(checkout, db)} | {_cost(new, db)} "
            f"({new[0] / checkout[0]:.0%})"
        )


def _cost(cost: tuple[float, float, float], db: Database) -> str:
    ms, sql, server_ms = cost
    server = "" if db.is_sqlite else f" + {server_ms:4.2f}"
    return f"{ms:4.2f}{server} ms, {sql:3.1f} stmts"


def _mean(costs: list[tuple[float, float]]) -> tuple[float, float]:
    return tuple(sum(values) / len(values) for values in zip(*costs, strict=True))


if __name__ == "__main__":
    main()
