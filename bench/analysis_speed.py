"""Analysis endpoints' speed: server time (p50, p95) of every market and analysis endpoint
through a real `botdesk web` over HTTP, on SQLite, beside the bare candle read and the
health check measured in the same run, with the machine's load average.

The database holds real Binance klines (../shared/data), stored with `botdesk data
import`: the four 5m files with their taker columns (BTCUSDT, ETHUSDT, BNBUSDT, SOLUSDT:
8639 candles of 5m, 2879 of 15m, 719 of 1h, 179 of 4h each, the month the files cover)
and XRPUSDT's 1m file (50000 of 1m, 10000 of 5m, 3333 of 15m, 833 of 1h, 208 of 4h). Every
endpoint reads 600 candles per timeframe (the default window); the confluence and the
setups read four timeframes: 5m, 15m, 1h, 4h on the 5m symbols (the 4h has only its 179),
and 1m, 5m, 15m, 1h on XRPUSDT, where all four have their 600. Calls rotate over the
symbols. Server time is gunicorn's own request time from its access log (whole
milliseconds); rt is the client's round trip.

    .venv/bin/python bench/analysis_speed.py [--calls 50] [--workers 1] [--force]

The database is seeded once into var/bench/analysis.db (about a minute and a half) and
reused; --force seeds it again.

Goal (issue 17): p95 <= 50 ms per analysis endpoint.
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from botdesk.engine.history import import_file  # noqa: E402
from tests.conftest import SHARED_DATA, make_env  # noqa: E402
from tests.factories import make_api_key, make_user  # noqa: E402
from tests.processes import start_web  # noqa: E402

GOAL_MS = 50
FLOW_SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT")  # 5m files with taker volume
MINUTE_SYMBOL = "XRPUSDT"  # the 1m file
ACCESS = re.compile(r'"GET (\S+) HTTP/[\d.]+" (\d+) \S+ (\d+)ms')

# (label, path template, parameters, symbols): what is measured, in this order
CALLS = [
    ("health (comparison)", "/api/v1/health", {}, ("",)),
    ("candles 600 (comparison)", "/api/v1/market/{s}/candles", {"limit": 600}, FLOW_SYMBOLS),
    ("ticker", "/api/v1/market/{s}/ticker", {}, FLOW_SYMBOLS),
    ("smc 5m", "/api/v1/analysis/{s}/smc", {}, FLOW_SYMBOLS),
    ("volume-profile 5m", "/api/v1/analysis/{s}/volume-profile", {}, FLOW_SYMBOLS),
    ("order-flow 5m", "/api/v1/analysis/{s}/order-flow", {}, FLOW_SYMBOLS),
    ("confluence 5m,15m,1h,4h", "/api/v1/analysis/{s}/confluence", {}, FLOW_SYMBOLS),
    (
        "confluence 1m,5m,15m,1h (4 x 600)",
        "/api/v1/analysis/{s}/confluence",
        {"timeframes": "1m,5m,15m,1h"},
        (MINUTE_SYMBOL,),
    ),
    ("setups 5m,15m,1h,4h", "/api/v1/analysis/{s}/setups", {"capital": "10000"}, FLOW_SYMBOLS),
    (
        "setups 1m,5m,15m,1h (4 x 600)",
        "/api/v1/analysis/{s}/setups",
        {"timeframes": "1m,5m,15m,1h", "capital": "10000"},
        (MINUTE_SYMBOL,),
    ),
    ("smc 1m", "/api/v1/analysis/{s}/smc", {"timeframe": "1m"}, (MINUTE_SYMBOL,)),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


DEFAULT_PATH = ROOT / "var" / "bench" / "analysis.db"


def seed(url: str) -> None:
    upgrade(url)
    db = Database(url)
    try:
        for symbol in FLOW_SYMBOLS:
            import_file(db, SHARED_DATA / f"{symbol}-5m.csv", symbol=symbol, timeframe="5m")
        import_file(
            db, SHARED_DATA / f"{MINUTE_SYMBOL}-1m.csv", symbol=MINUTE_SYMBOL, timeframe="1m"
        )
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="measured calls per endpoint")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    parser.add_argument("--force", action="store_true", help="seed the database again")
    args = parser.parse_args()
    if not SHARED_DATA.exists():
        raise SystemExit(f"{SHARED_DATA} is absent: the benchmark reads its real klines")
    folder = Path(tempfile.mkdtemp(prefix="botdesk-analysis-bench-"))
    url = f"sqlite:///{DEFAULT_PATH}"
    if args.force or not DEFAULT_PATH.exists():
        DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
        seeding = DEFAULT_PATH.with_suffix(".seeding")  # renamed only once complete
        seeding.unlink(missing_ok=True)
        started = time.perf_counter()
        seed(f"sqlite:///{seeding}")
        seeding.replace(DEFAULT_PATH)
        print(f"seeded {url} in {time.perf_counter() - started:.0f} s")
    env = make_env(url, folder)
    db = Database(url)
    log = folder / "web.log"
    web, base = start_web(env, log, workers=args.workers)
    try:
        reader = make_user(db, role="viewer", username=f"bench-{time.time_ns()}")
        key = make_api_key(db, reader, "read")
        session = requests.Session()
        session.headers["X-API-Key"] = key
        load_before = os.getloadavg()
        round_trips: dict[str, list[float]] = {}
        paths: dict[str, list[str]] = {}
        for label, template, params, symbols in CALLS:
            for number in range(args.calls + 1):  # the first of each is a warm-up
                symbol = symbols[number % len(symbols)]
                begun = time.perf_counter()
                reply = session.get(base + template.format(s=symbol), params=params, timeout=60)
                elapsed = (time.perf_counter() - begun) * 1000
                if reply.status_code != 200:
                    raise SystemExit(f"{label}: HTTP {reply.status_code} {reply.text[:300]}")
                if number:
                    round_trips.setdefault(label, []).append(elapsed)
                paths.setdefault(label, []).append(reply.url.split(base, 1)[1].split("?")[0])
        load_after = os.getloadavg()
        time.sleep(0.5)  # let gunicorn flush its access log
        logged = ACCESS.findall(log.read_text(errors="replace"))
        expected = len(CALLS) * (args.calls + 1)
        server: dict[str, list[float]] = {}
        if len(logged) >= expected:
            for index, (label, *_rest) in enumerate(CALLS):
                per = logged[-expected:][index * (args.calls + 1) : (index + 1) * (args.calls + 1)]
                server[label] = [float(ms) for _, _, ms in per[1:]]
        print(
            f"{args.calls} calls per endpoint after a warm-up, {args.workers} gunicorn "
            f"worker(s), SQLite; server time from gunicorn's log (whole ms), rt = round trip"
        )
        print(
            f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
            f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
            f"({os.cpu_count()} CPUs)"
        )
        print(f"{'endpoint':36} {'p50':>6} {'p95':>6} {'rt p50':>7} {'rt p95':>7}  (ms)")
        worst = 0.0
        for label, *_rest in CALLS:
            times = server.get(label, round_trips[label])
            p95 = percentile(times, 0.95)
            if "comparison" not in label:
                worst = max(worst, p95)
            print(
                f"{label:36} {statistics.median(times):6.0f} {p95:6.0f} "
                f"{statistics.median(round_trips[label]):7.1f} "
                f"{percentile(round_trips[label], 0.95):7.1f}"
            )
        verdict = "meets" if worst <= GOAL_MS else "misses"
        print(f"worst analysis p95 {worst:.0f} ms ({verdict} the goal of {GOAL_MS} ms)")
    finally:
        web.stop()
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
