"""CPU of one desk worker's stream poller tick with 1 client and with 50, side by side.

The poller (app/stream/hub) numbers, reads and builds the new events once per tick and
writes them to every client's socket itself; the clients here are real socket pairs read
between ticks. Before each tick another connection commits two signals, as the engine
would. CPU is the ticking thread's own (time.thread_time), averaged over the ticks.

    .venv/bin/python bench/stream_tick.py [--database-url URL] [--ticks 100]

Question it answers (issue 17): does a tick cost the desk more with more clients?
"""

import argparse
import itertools
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botdesk.app.stream.hub import Hub  # noqa: E402
from botdesk.app.stream.outbox import Outbox  # noqa: E402
from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from botdesk.settings import Settings  # noqa: E402
from tests.factories import make_bot, signal_row  # noqa: E402

CLIENTS = (1, 50)


def drain(client: socket.socket) -> None:
    try:
        while client.recv(1 << 20):
            pass
    except BlockingIOError:
        pass


def tick_cpu_ms(db: Database, bot, clients: int, ticks: int, numbers) -> float:
    hub = Hub(db, Settings(DATABASE_URL=db.url), poller=False)
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
    for _ in range(ticks):
        with db.writing() as session:
            session.add_all([signal_row(bot, next(numbers)), signal_row(bot, next(numbers))])
        started = time.thread_time()
        hub.tick()
        spent += time.thread_time() - started
        for _, client in readers:
            drain(client)
    hub.stop()
    for pair in readers:
        for end in pair:
            end.close()
    return spent / ticks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--ticks", type=int, default=100)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'tick.db'}"
    upgrade(url)
    db = Database(url)
    bot = make_bot(db, name=f"stream-tick-{time.time_ns()}")  # a database used before too
    numbers = itertools.count(time.time_ns())
    load_before = os.getloadavg()
    results = {n: tick_cpu_ms(db, bot, n, args.ticks, numbers) for n in CLIENTS}
    db.dispose()
    print(
        f"stream poller tick, {db.url.split(':')[0]}, {args.ticks} ticks of 2 new signals; "
        f"load avg {' '.join(f'{x:.2f}' for x in load_before)} -> "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    for clients, ms in results.items():
        print(f"  {clients:>3} clients: {ms:.2f} ms CPU per tick")
    extra = results[CLIENTS[1]] - results[CLIENTS[0]]
    print(
        f"  writing to {CLIENTS[1] - CLIENTS[0]} more clients adds {extra:.2f} ms per tick "
        f"({extra / (CLIENTS[1] - CLIENTS[0]) * 1000:.0f} us per client)"
    )


if __name__ == "__main__":
    main()
