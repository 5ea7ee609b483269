"""Alert latency: event committed to delivered, through a real `botdesk watchdog` process
and Apprise's json:// to a healthy HTTP receiver on loopback.

Each of `--events` events is written in its own transaction (as the code that causes it
does), one every `--spacing` seconds; the receiver stamps each arrival. Printed: p50, p99
and max of committed -> received, beside the load average. Goal: p99 <= 2 s.

    .venv/bin/python bench/notify_latency.py [--events 200] [--spacing 0.02]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from botdesk.db import notification_channels, notifications
from botdesk.db.migrate import upgrade
from botdesk.db.notifications import Event
from botdesk.db.session import Database
from botdesk.settings import Settings

DATA_KEY = "VHFPDo82v9QNrXpqdlbcrDQ6cr3whJfA8ykMoBHkn5Y="  # bench only


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def receiver(arrivals: dict):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrivals.setdefault(json.loads(body)["title"], time.time())
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--spacing", type=float, default=0.02)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    arrivals: dict[str, float] = {}
    server = receiver(arrivals)
    settings = Settings(DATA_KEY=DATA_KEY)
    with db.writing() as session:
        notification_channels.add(
            session=session,
            name=f"bench-{time.time_ns()}",
            url=f"json://127.0.0.1:{server.server_address[1]}/bench",
            events="bot.error",
            min_severity="info",
            by="bench",
            settings=settings,
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTDESK_")}
    env.update(
        BOTDESK_DATABASE_URL=url,
        BOTDESK_VAR_DIR=str(folder / "var"),
        BOTDESK_DATA_KEY=DATA_KEY,
        BOTDESK_LOG_LEVEL="WARNING",
    )
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "botdesk", "watchdog"],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # timing starts once the watchdog delivers: a warm-up event, waited for
        with db.writing() as session:
            notifications.emit(session, Event("bot.error", "info", "warm-up", "", {}, "warm"))
        deadline = time.time() + 120
        while "[botdesk] warm-up" not in arrivals and time.time() < deadline:
            time.sleep(0.05)
        run = time.time_ns()
        committed: dict[str, float] = {}
        for number in range(args.events):
            title = f"bench {run} {number}"
            with db.writing() as session:
                notifications.emit(
                    session, Event("bot.error", "critical", title, "latency", {}, title)
                )
            committed[f"[botdesk] {title}"] = time.time()
            time.sleep(args.spacing)
        deadline = time.time() + 60
        while len(arrivals) < args.events and time.time() < deadline:
            time.sleep(0.05)
    finally:
        watchdog.terminate()
        watchdog.wait(timeout=20)
        server.shutdown()
    took = [arrivals[title] - at for title, at in committed.items() if title in arrivals]
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"notify latency, {backend}, {args.events} events {args.spacing * 1000:.0f} ms apart")
    print(f"load average {load} on {os.cpu_count()} cores")
    print(f"delivered {len(took)}/{args.events}")
    if took:
        print(
            f"committed -> received: p50 {percentile(took, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(took, 0.99) * 1000:.0f} ms, max {max(took) * 1000:.0f} ms "
            "(goal p99 <= 2000 ms)"
        )
    db.dispose()
    return 0 if len(took) == args.events else 1


if __name__ == "__main__":
    sys.exit(main())
