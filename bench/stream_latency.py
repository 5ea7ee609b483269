"""Stream latency and the desk's speed with 100 stream clients connected, side by side.

It migrates a fresh SQLite database (or uses --database-url), starts a real `botdesk web`
(gunicorn, 2 gthread workers, default stream settings), signs in as an admin, and runs two
phases of the same length with the same writes: a writer process commits one signal every
--interval seconds (and a fill every fifth), while a signed-in client renders desk pages
through Dash's page router (the Overview, Signals and Orders pages, round trip).
Phase "without": no stream client. Phase "with": --clients clients hold /api/v1/stream
(channels signals,fills; 4 per read key, as the default limit allows), all read by one
selector thread in a process of their own; for every signal each client receives, latency =
received - committed (the writer's clock, after its commit returned: the same monotonic
clock of this machine). Load average is read before and after each phase, and the CPU
seconds of the desk (gunicorn and its workers), of the stream clients' process and of the
writer: the clients and the writer share this machine's cores with the desk, which real
clients would not.

    .venv/bin/python bench/stream_latency.py [--clients 100] [--events 150] [--interval 0.1]
        [--rounds 3] [--channels signals,fills]

The phases alternate (without, with, without, with, ...) and the rounds are reported
together: on a shared machine the load drifts by more than the effect being measured.

Goal (issue 17): committed -> received p99 <= 500 ms with 100 clients; desk callback p95
unchanged while they are connected.
"""

import argparse
import json
import multiprocessing
import os
import queue
import selectors
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.models import Fill, Order  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from tests.conftest import make_env  # noqa: E402
from tests.desk import dependencies, first_output, login, registered_body  # noqa: E402
from tests.factories import PASSWORD, make_api_key, make_bot, make_user, signal_row  # noqa: E402
from tests.processes import start_web  # noqa: E402

ROUTER = "_pages_content.children"
PAGES = ("/", "/signals", "/orders")
GOAL_P99_MS = 500
PER_KEY = 4


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class BotId:
    def __init__(self, bot_id: int):
        self.id = bot_id  # all signal_row reads of a bot


def writer(url: str, bot_id: int, first: int, events: int, interval: float, commits) -> None:
    """In its own process, as the engine is: one signal per tick, a fill every fifth."""
    db = Database(url)
    start = time.monotonic()
    for number in range(events):
        with db.writing() as session:
            signal = signal_row(BotId(bot_id), first + number)
            session.add(signal)
            if number % 5 == 0:
                order = Order(
                    bot_id=bot_id,
                    client_order_id=f"bench-{first + number}",
                    symbol="BTCUSDT",
                    side="buy",
                    quantity=1,
                )
                session.add(order)
                session.flush()
                session.add(
                    Fill(
                        order_id=order.id,
                        bot_id=bot_id,
                        trade_id=f"b{first + number}",
                        symbol="BTCUSDT",
                        side="buy",
                        quantity=1,
                        price=1,
                    )
                )
            session.flush()
            signal_id = signal.id
        commits.put((signal_id, time.monotonic()))
        time.sleep(max(0.0, start + (number + 1) * interval - time.monotonic()))
    commits.put(None)
    commits.put(time.process_time())


class Readers:
    """Many stream connections read by one selector thread (HTTP/1.0: no chunking)."""

    def __init__(self, base: str, keys: list[str], count: int, channels: str):
        self.channels = channels
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.received: dict[int, list[float]] = {}  # signal id -> receive times
        self.refused = 0
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytes] = {}
        self.stop = threading.Event()
        for number in range(count):
            self._connect(keys[number // PER_KEY])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _connect(self, key: str) -> None:
        while True:
            sock = socket.create_connection((self.host, self.port))
            sock.sendall(
                f"GET /api/v1/stream?channels={self.channels} HTTP/1.0\r\nHost: bench\r\n"
                f"X-API-Key: {key}\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(4096)
            status = int(head.split(b" ", 2)[1])
            if status == 200:
                sock.setblocking(False)
                self.buffers[sock] = head.split(b"\r\n\r\n", 1)[1]
                self.selector.register(sock, selectors.EVENT_READ)
                return
            self.refused += 1  # a full worker: try again (another worker may take it)
            sock.close()
            time.sleep(0.05)

    def _run(self) -> None:
        while not self.stop.is_set():
            for selected, _ in self.selector.select(timeout=0.2):
                sock = selected.fileobj
                chunk = sock.recv(65536)
                now = time.monotonic()
                if not chunk:
                    self.selector.unregister(sock)
                    continue
                data = self.buffers[sock] + chunk
                *frames, self.buffers[sock] = data.split(b"\n\n")
                for frame in frames:
                    if b"event: signals" not in frame:
                        continue
                    line = next(x for x in frame.split(b"\n") if x.startswith(b"data: "))
                    signal_id = json.loads(line[6:])["id"]
                    self.received.setdefault(signal_id, []).append(now)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in list(self.buffers):
            sock.close()


def _read_streams(base, keys, count, channels, ready, stop, results) -> None:
    readers = Readers(base, keys, count, channels)
    ready.put(readers.refused)
    connected = time.process_time()
    stop.wait()
    readers.close()
    results.put((readers.received, time.process_time() - connected))


class ReaderProcess:
    """The clients in a process of their own: their reading does not compete for this
    process's GIL with the page client being timed (as real clients are elsewhere)."""

    def __init__(self, base: str, keys: list[str], count: int, channels: str):
        ready, self._results = multiprocessing.Queue(), multiprocessing.Queue()
        self._stop = multiprocessing.Event()
        self._process = multiprocessing.Process(
            target=_read_streams,
            args=(base, keys, count, channels, ready, self._stop, self._results),
        )
        self._process.start()
        self.refused = ready.get(timeout=300)
        self.received: dict[int, list[float]] = {}
        self.cpu = 0.0  # CPU seconds of the clients' process while the phase ran

    def collect(self) -> None:
        self._stop.set()
        self.received, self.cpu = self._results.get(timeout=60)
        self._process.join()

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def render_pages(client, base: str, router: dict, stop: threading.Event) -> list[float]:
    times = []
    while not stop.is_set():
        for path in PAGES:
            values = {"_pages_location.pathname": path, "_pages_location.search": ""}
            started = time.perf_counter()
            response = client.post(
                f"{base}/_dash-update-component", json=registered_body(router, values), timeout=60
            )
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return times


def desk_rss_mb(master: int) -> float:
    """Resident memory of the gunicorn master and its workers now, in MB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = int(text.split("PPid:")[1].split()[0])
        if master in (int(status.parent.name), ppid) and "VmRSS:" in text:
            total += int(text.split("VmRSS:")[1].split()[0])
    return total / 1024


def desk_cpu_seconds(master: int) -> float:
    """User + system CPU of the gunicorn master and its workers so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def phase(args, url, bot_id, first, client, base, router, readers: ReaderProcess | None) -> dict:
    load_before = os.getloadavg()
    cpu_before = desk_cpu_seconds(args.master)
    commits = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=writer, args=(url, bot_id, first, args.events, args.interval, commits)
    )
    stop = threading.Event()
    result: dict = {}
    pages = threading.Thread(
        target=lambda: result.update(times=render_pages(client, base, router, stop))
    )
    process.start()
    pages.start()
    committed = {}
    while (item := commits.get()) is not None:
        committed[item[0]] = item[1]
    writer_cpu = commits.get()
    process.join()
    time.sleep(1.0)  # the last events reach every client
    stop.set()
    pages.join()
    latencies = []
    missing = 0
    if readers is not None:
        readers.collect()
        for signal_id, at in committed.items():
            got = readers.received.get(signal_id, [])
            missing += args.clients - len(got) if "signals" in args.channels else 0
            latencies += [(t - at) * 1000 for t in got]
    return {
        "cpu": desk_cpu_seconds(args.master) - cpu_before,
        "writer_cpu": writer_cpu,
        "clients_cpu": readers.cpu if readers is not None else 0.0,
        "rss": desk_rss_mb(args.master),
        "load": (load_before, os.getloadavg()),
        "calls": result["times"],
        "latencies": latencies,
        "missing": missing,
        "events": len(committed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file; else a new database"
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument(
        "--channels",
        default="signals,fills",
        help="the clients' channels; kill_switch (quiet here): connected clients sent "
        "nothing but keep-alives, to tell their presence from the fan-out",
    )
    parser.add_argument("--events", type=int, default=150, help="signals written per phase")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between signals")
    parser.add_argument(
        "--rounds", type=int, default=3, help="without/with pairs, alternating (default 3)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="stream-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)  # a new database, or one already migrated (nothing to do)
    env = make_env(url, folder, BOTDESK_LOG_LEVEL="WARNING")
    db = Database(url)
    web, base = start_web(env, folder / "web.log", workers=2)
    args.master = web.proc.pid  # `botdesk web` execs gunicorn: the same process
    readers = None
    try:
        make_user(db, role="admin", username="bench-admin")
        client, response = login(base, "bench-admin", PASSWORD)
        if response.status_code != 302:
            raise SystemExit(f"sign-in failed: HTTP {response.status_code}")
        router = next(d for d in dependencies(client, base) if first_output(d["output"]) == ROUTER)
        for path in PAGES:  # warm-up: each worker imports and renders once
            for _ in range(2):
                client.post(
                    f"{base}/_dash-update-component",
                    json=registered_body(
                        router, {"_pages_location.pathname": path, "_pages_location.search": ""}
                    ),
                    timeout=60,
                )
        bot = make_bot(db)
        make_bot(db)
        viewer = make_user(db, role="viewer")
        keys = [make_api_key(db, viewer, "read") for _ in range(-(-args.clients // PER_KEY))]
        rounds, refused, first = [], 0, 0
        for _ in range(args.rounds):  # alternating, so a drift in the machine's load
            without = phase(args, url, bot.id, first, client, base, router, None)
            readers = ReaderProcess(base, keys, args.clients, args.channels)
            refused += readers.refused
            time.sleep(1.0)
            first += args.events
            with_clients = phase(args, url, bot.id, first, client, base, router, readers)
            readers.close()
            readers = None
            first += args.events
            # a few more events: the desk finds the hung-up streams gone as it writes them,
            # before the next phase without clients
            writer(url, bot.id, first, 5, 0.3, queue.SimpleQueue())
            first += 5
            rounds.append((without, with_clients))
    finally:
        if readers is not None:
            readers.close()
        web.stop()
        db.dispose()
    report(args, *(pooled([r[side] for r in rounds]) for side in (0, 1)), refused)


def pooled(phases: list[dict]) -> dict:
    """The rounds' phases of one kind as one: samples joined, CPU added, first and last
    load averages."""
    return {
        "cpu": sum(p["cpu"] for p in phases),
        "writer_cpu": sum(p["writer_cpu"] for p in phases),
        "clients_cpu": sum(p["clients_cpu"] for p in phases),
        "rss": max(p["rss"] for p in phases),
        "load": (phases[0]["load"][0], phases[-1]["load"][1]),
        "calls": [t for p in phases for t in p["calls"]],
        "latencies": [t for p in phases for t in p["latencies"]],
        "missing": sum(p["missing"] for p in phases),
        "events": sum(p["events"] for p in phases),
    }


def report(args, without: dict, with_clients: dict, refused: int) -> None:
    print(
        f"stream bench: {os.cpu_count()} cores, 2 gunicorn gthread workers, "
        f"{args.rounds} rounds of two phases (without, with), {args.events} signals per "
        f"phase every {args.interval * 1000:.0f} ms (+ a fill every fifth), written by "
        "another process; figures of the rounds together"
    )
    print(f"{'':34}{'without clients':>18}{'with ' + str(args.clients) + ' clients':>20}")
    for name, share in (("p50", 0.5), ("p95", 0.95), ("max", 1.0)):
        print(
            f"{'desk page render ' + name + ' (ms, round trip)':34}"
            f"{percentile(without['calls'], share):>18.1f}"
            f"{percentile(with_clients['calls'], share):>20.1f}"
        )
    print(f"{'desk page renders':34}{len(without['calls']):>18}{len(with_clients['calls']):>20}")
    for phase_result in (without, with_clients):
        phase_result["cpu_per_render"] = 1000 * phase_result["cpu"] / len(phase_result["calls"])
    for label, name in (
        ("desk CPU seconds (all processes)", "cpu"),
        ("desk CPU ms per page render", "cpu_per_render"),
        ("stream clients' CPU s (bench's)", "clients_cpu"),
        ("writer's CPU s (bench's)", "writer_cpu"),
        ("desk RSS MB (all)", "rss"),
    ):
        print(f"{label:34}{without[name]:>18.1f}{with_clients[name]:>20.1f}")
    for label, index in (("load avg before", 0), ("load avg after", 1)):
        print(
            f"{label:34}"
            f"{' '.join(f'{x:.2f}' for x in without['load'][index]):>18}"
            f"{' '.join(f'{x:.2f}' for x in with_clients['load'][index]):>20}"
        )
    latencies = with_clients["latencies"]
    print(
        f"committed -> received over {len(latencies)} deliveries "
        f"({with_clients['events']} signals x {args.clients} clients; "
        f"{with_clients['missing']} missing, {refused} connects refused and retried): "
        f"p50 {percentile(latencies, 0.5):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms, "
        f"p99 {percentile(latencies, 0.99):.0f} ms, max {max(latencies, default=0):.0f} ms "
        f"(goal p99 <= {GOAL_P99_MS} ms)"
    )


if __name__ == "__main__":
    main()
