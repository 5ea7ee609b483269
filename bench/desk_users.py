"""The desk under many signed-in users refreshing their pages while the engine trades.

A real `botdesk web` (gunicorn, `--workers`) and a real `botdesk engine` (paper bots on
the bundled klines replayed at `--replay-speed`, so it trades all along) on one database
(a fresh SQLite file, or `--database-url` PostgreSQL where a scratch database is made).
Each user is a thread with its own signed-in session that refreshes one page after the
other (the viewer's pages of the navbar) as a browser does: the page, the app's layout,
the router callback that renders the page, then every callback the page fires when it
loads (those whose inputs are all on the page or the shell, the shell's own poll
included, and that are not prevent_initial_call; callbacks chained off their outputs are
not followed; clientside ones run in the browser). Latency is per request and per whole
refresh; an error is any answer but 200 or 204 (Dash's PreventUpdate) or a failed
connection. Two phases of the same length in the same run:
one user, then `--users` users; the load average and the engine's bot-candles advanced
(from the bots' cursors) are printed beside each, and the slowest kinds of request.
The users run as threads split over `--browsers` client processes, as browsers run apart
from each other (in one process every answer would also wait for the client's own
interpreter lock); the clients' CPU (share of one core) is printed: it is taken from the
same two cores as the desk's. `--think` makes each user read a page for about that many
seconds before the next refresh (0, the default: refresh after refresh, the hardest
case). Goal: p95 <= 300 ms, no error.

    .venv/bin/python bench/desk_users.py [--users 50] [--seconds 60] [--bots 50]
        [--workers 2] [--think 0] [--browsers 10] [--replay-speed 60]
        [--database-url postgresql+psycopg://...]
"""

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import urllib3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine_process import cursors, seed  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from tests.conftest import make_env  # noqa: E402
from tests.desk import (  # noqa: E402
    dependencies,
    first_output,
    login,
    registered_body,
    with_outputs,
)
from tests.factories import PASSWORD, make_user  # noqa: E402
from tests.processes import BotdeskProcess, start_web  # noqa: E402

ROUTER = "_pages_content.children"
PAGES = ("/", "/bots", "/signals", "/positions", "/orders", "/fills", "/pnl", "/risk")
GOAL_P95_MS = 300
MINUTE_MS = 60_000


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def components(node, found: dict, patterns: list | None = None) -> dict:
    """{id: props} of every component with a plain (string) id in a layout; the
    pattern-matching (dict) ids into `patterns` when given, in the same walk."""
    if isinstance(node, list):
        for item in node:
            components(item, found, patterns)
    elif isinstance(node, dict):
        props = node.get("props")
        if not isinstance(props, dict):  # not a component: an answer's {output: {prop: ...}}
            props = node
        else:
            component_id = props.get("id")
            if isinstance(component_id, str):
                found[component_id] = props
            elif patterns is not None and isinstance(component_id, dict):
                patterns.append(component_id)
        for value in props.values():
            if isinstance(value, dict | list):
                components(value, found, patterns)
    return found


def list_all_outputs(body: dict, dependency: dict, on_page: list[dict]) -> dict:
    """An ALL output lists the page's components it matches, as the renderer sends it."""
    for part in dependency["output"].strip(".").split("..."):
        component_id = part.rsplit(".", 1)[0]
        if not component_id.startswith("{"):
            continue
        pattern = json.loads(component_id)
        if ["ALL"] in pattern.values():
            fixed = {k: v for k, v in pattern.items() if v != ["ALL"]}
            ids = [i for i in on_page if i.keys() == pattern.keys() and fixed.items() <= i.items()]
            with_outputs(body, part, ids)
    return body


def values_of(dependency: dict, props: dict) -> dict:
    values = {}
    for item in dependency["inputs"] + dependency["state"]:
        if item["id"] in props:
            values[f"{item['id']}.{item['property']}"] = props[item["id"]].get(item["property"])
    return values


def fired_on(present: dict, registered: list[dict]) -> list[dict]:
    """The callbacks a browser fires when it loads a page: all their inputs `present` (on
    the page or the shell: the shell's poll fires on every load too), not
    prevent_initial_call."""
    fired = []
    for dependency in registered:
        if dependency.get("prevent_initial_call") or dependency.get("clientside_function"):
            continue  # the browser runs a clientside callback itself
        ids = [item["id"] for item in dependency["inputs"]]
        if not ids or any(i.startswith("{") or i not in present for i in ids):
            continue
        if first_output(dependency["output"]) != ROUTER:
            fired.append(dependency)
    return fired


class User:
    def __init__(self, base: str, username: str, registered: list[dict], shell: dict):
        self.base = base
        client, response = login(base, username, PASSWORD)
        if response.status_code != 302:
            raise SystemExit(f"sign-in of {username} failed: HTTP {response.status_code}")
        # requests' own cost per request is most of a client's; the desk's answers do not
        # change with the client, so the users send theirs with urllib3 (a browser's
        # cookies: the signed-in session's)
        self.client = client  # for the setup's reads (the callbacks registered)
        self.cookies = client.cookies.get_dict()
        address = urlsplit(base)
        self.pool = urllib3.HTTPConnectionPool(address.hostname, address.port, maxsize=1)
        self.registered = registered
        self.router = next((d for d in registered if first_output(d["output"]) == ROUTER), None)
        self.shell = shell
        self.requests: list[float] = []
        self.labels: list[str] = []  # what each request was
        self.refreshes: list[float] = []
        self.errors: list[str] = []

    def _timed(self, method: str, path: str, label: str, json_body=None):
        """The answer's JSON ({} when it is not JSON), None on an error."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self.pool.request(
                method, path, body=body, headers=headers, retries=False, timeout=60
            )
        except Exception as error:  # a refused or dropped connection counts too
            self.errors.append(f"{method} {path}: {error}")
            return None
        self.requests.append((time.perf_counter() - started) * 1000)
        self.labels.append(label)
        for cookie in response.headers.getlist("Set-Cookie"):  # the idle clock moved
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        if response.status not in (200, 204):
            self.errors.append(f"{method} {path}: HTTP {response.status}")
            return None
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(response.data)
        return {}

    def refresh(self, path: str) -> None:
        started = time.perf_counter()
        self._timed("GET", path, "GET a page")
        layout = self._timed("GET", "/_dash-layout", "GET /_dash-layout")
        shell = components(layout, {}) if layout is not None else self.shell
        location = {"_pages_location.pathname": path, "_pages_location.search": ""}
        answer = self._timed(
            "POST",
            "/_dash-update-component",
            f"router {path}",
            json_body=registered_body(self.router, location),
        )
        if answer is not None:
            on_page: list = []
            page = components(answer.get("response", {}), {}, on_page)
            present = {**shell, **page}
            for dependency in fired_on(present, self.registered):
                body = registered_body(dependency, {**location, **values_of(dependency, present)})
                list_all_outputs(body, dependency, on_page)
                label = first_output(dependency["output"])
                self._timed("POST", "/_dash-update-component", label, json_body=body)
        self.refreshes.append((time.perf_counter() - started) * 1000)

    def run(self, until: float, seed: int, think: float) -> None:
        pages = random.Random(seed)
        while time.monotonic() < until:
            self.refresh(pages.choice(PAGES))
            time.sleep(think * pages.uniform(0.5, 1.5))  # reading the page


def run_users(users: list[User], until: float, think: float, first_seed: int, answer) -> None:
    """One browser process's users, each a thread, until `until`; their samples sent back."""
    cpu = time.process_time()
    threads = [
        threading.Thread(target=user.run, args=(until, first_seed + n, think), daemon=True)
        for n, user in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answer.send(
        {
            "requests": [ms for user in users for ms in user.requests],
            "labels": [label for user in users for label in user.labels],
            "refreshes": [ms for user in users for ms in user.refreshes],
            "errors": [error for user in users for error in user.errors],
            "cpu": time.process_time() - cpu,
        }
    )


def phase(users: list[User], seconds: float, db, think: float, processes: int) -> dict:
    """The users split over `processes` forked processes (browsers run apart from each
    other: one client process would queue every answer behind its own interpreter lock)."""
    for user in users:
        user.requests, user.labels, user.refreshes, user.errors = [], [], [], []
    fork = multiprocessing.get_context("fork")
    before, started = cursors(db), time.monotonic()
    until = started + seconds
    shares = [users[n::processes] for n in range(processes) if users[n::processes]]
    pipes, children = [], []
    for number, share in enumerate(shares):
        mine, theirs = fork.Pipe(duplex=False)
        child = fork.Process(
            target=run_users, args=(share, until, think, number * len(users), theirs)
        )
        child.start()
        pipes.append(mine)
        children.append(child)
    samples = [pipe.recv() for pipe in pipes]
    for child in children:
        child.join()
    spent = time.monotonic() - started
    after = cursors(db)
    return {
        "users": len(users),
        **{
            key: [item for got in samples for item in got[key]]
            for key in samples[0]
            if key != "cpu"
        },
        "seconds": spent,
        "client_cpu": sum(got["cpu"] for got in samples) / spent,
        "processes": len(shares),
        "bot_candles": sum((after[b] - before[b]) // MINUTE_MS for b in before if before[b]),
        "load": os.getloadavg()[0],
    }


def report(rows: list[dict], workers: int, bots: int, think: float) -> None:
    print(
        f"desk under signed-in users refreshing pages: {os.cpu_count()} cores, {workers} "
        f"gunicorn workers, a `botdesk engine` trading {bots} paper bots alongside, "
        f"{think:g} s reading each page"
    )
    print(
        f"{'users':>6}{'refreshes':>10}{'requests':>9}{'req p50':>9}{'p95':>8}{'p99':>8}"
        f"{'refresh p95':>12}{'errors':>7}{'bot-candles':>12}{'clients':>8}{'client CPU':>11}"
        "  load avg"
    )
    for row in rows:
        got = row["requests"]
        print(
            f"{row['users']:>6}{len(row['refreshes']):>10}{len(got):>9}"
            f"{percentile(got, 0.5):>9.0f}{percentile(got, 0.95):>8.0f}"
            f"{percentile(got, 0.99):>8.0f}{percentile(row['refreshes'], 0.95):>12.0f}"
            f"{len(row['errors']):>7}{row['bot_candles']:>12}{row['processes']:>8}{row['client_cpu']:>11.0%}"
            f"  {row['load']:.2f}"
        )
    last = rows[-1]
    p95 = percentile(last["requests"], 0.95)
    met = p95 <= GOAL_P95_MS and not last["errors"]
    print(
        f"goal: request p95 <= {GOAL_P95_MS} ms and no error with {last['users']} users: "
        f"{'met' if met else 'NOT met'} (ms; {last['seconds']:.0f} s a phase)"
    )
    for error in sorted(set(last["errors"]))[:10]:
        print(f"  error: {error}")
    by_label: dict[str, list[float]] = {}
    for label, ms in zip(last["labels"], last["requests"], strict=True):
        by_label.setdefault(label, []).append(ms)
    slowest = sorted(by_label.items(), key=lambda item: -percentile(item[1], 0.95))[:8]
    print(f"slowest requests with {last['users']} users (p95 ms, count):")
    for label, times in slowest:
        print(f"  {percentile(times, 0.95):7.0f} {len(times):6d}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds a user reads a page (0: none)"
    )
    parser.add_argument(
        "--browsers",
        type=int,
        default=10,
        help="client processes the users are split over (1: all threads of one process)",
    )
    parser.add_argument("--replay-speed", default="60", help="candles replayed per minute x")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default SQLite)")
    parser.add_argument(
        "--stream-clients",
        default=None,
        help="BOTDESK_STREAM_MAX_CLIENTS (each worker's threads are 4 more; default: the desk's)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="desk-users-"))
    drop = lambda: None  # noqa: E731
    if args.database_url:
        from bench.engine_batch import fresh_database

        url, drop = fresh_database("postgresql", args.database_url)
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    web = engine = None
    db = None
    try:
        seed(url, args.bots)  # migrated, default limits, running paper bots
        db = Database(url)
        extra = {"BOTDESK_STREAM_MAX_CLIENTS": args.stream_clients} if args.stream_clients else {}
        env = make_env(url, folder, BOTDESK_LOG_LEVEL="WARNING", **extra)
        engine_env = {**env, "BOTDESK_REPLAY_SPEED": args.replay_speed}
        engine = BotdeskProcess(["engine"], engine_env, folder / "engine.log")
        web, base = start_web(env, folder / "web.log", workers=args.workers)
        names = [f"bench-user-{n}" for n in range(args.users)]
        for name in names:
            make_user(db, role="trader", username=name)
        first = User(base, names[0], [], {})
        registered = dependencies(first.client, base)
        shell = components(first._timed("GET", "/_dash-layout", "layout"), {})
        users = [User(base, name, registered, shell) for name in names]
        for path in PAGES:  # warm-up: each worker imports and renders every page
            for user in users[: args.workers * 2]:
                user.refresh(path)
        deadline = time.monotonic() + 120
        while not any(cursors(db).values()) and time.monotonic() < deadline:
            time.sleep(1)  # the engine has started trading
        rows = [
            phase(users[:1], args.seconds, db, args.think, 1),
            phase(users, args.seconds, db, args.think, args.browsers),
        ]
    finally:
        for process in (web, engine):
            if process is not None:
                process.stop()
        if db is not None:
            db.dispose()
        drop()
    report(rows, args.workers, args.bots, args.think)
    streams = args.stream_clients or "the default"
    print(f"gunicorn threads per worker: 4 + STREAM_MAX_CLIENTS ({streams})")


if __name__ == "__main__":
    main()
