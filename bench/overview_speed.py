"""The overview's data with the queries of issue 20 item 4 beside the ones they replaced,
in the same run and interleaved: every read the overview's summary makes (its change
marker, the bots' lines, today's P&L, the desk's equity series with its time-weighted
return and drawdown, names, latest signals and risk events), on the seeded bench database
(bench/seed_desk.py) and, with --series, on a desk of 20 bots x 10,080 one-minute
snapshots (bench/equity_series.py's), where the series dominates. Prints p50/p95 of the
whole summary and of the series alone, the figures each path shows (they must be equal)
and the load average; goal: the overview's p95 <= 150 ms.

    .venv/bin/python bench/overview_speed.py [--database-url URL] [--series] [--calls 20]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from botdesk.db import performance, portfolio  # noqa: E402
from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from tests.db import reference_performance  # noqa: E402

DEFAULT_URL = f"sqlite:///{ROOT / 'var' / 'bench' / 'desk.db'}"
PATHS = {"before": reference_performance.performance, "after": performance.performance}


def load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def summary(session, series) -> tuple[float, float, object]:
    """What botdesk.pages.overview.summary reads, timed whole and the series alone."""
    started = time.perf_counter()
    portfolio.change_marker(session=session)
    portfolio.bot_lines(session=session)
    portfolio.today(session=session)
    before_series = time.perf_counter()
    desk = series(session=session)
    after_series = time.perf_counter()
    portfolio.bot_names(session=session)
    portfolio.latest_signals(session=session)
    portfolio.latest_risk_events(session=session)
    ended = time.perf_counter()
    return (ended - started) * 1000, (after_series - before_series) * 1000, desk


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def measure(db: Database, label: str, calls: int) -> None:
    times = {name: ([], []) for name in PATHS}
    shown = {}
    with db.reading() as session:
        for name, series in PATHS.items():  # warm-up
            shown[name] = summary(session, series)[2]
        for _ in range(calls):
            for name, series in PATHS.items():  # interleaved
                whole, alone, _ = summary(session, series)
                times[name][0].append(whole)
                times[name][1].append(alone)
    print(f"{label}; load avg before {load()}")
    print(f"{'':8} {'summary p50':>12} {'p95':>8} {'series p50':>11} {'p95':>8}  (ms)")
    for name, (whole, alone) in times.items():
        print(
            f"{name:8} {statistics.median(whole):12.1f} {p95(whole):8.1f} "
            f"{statistics.median(alone):11.1f} {p95(alone):8.1f}"
        )
    for name, desk in shown.items():
        print(
            f"{name:8} points {len(desk.points)}, equity {desk.equity}, "
            f"return {desk.time_weighted_return * 100:+.6f} %, "
            f"max drawdown {desk.max_drawdown * 100:.6f} %, flows {desk.net_flows}"
        )
    same = shown["before"].points == shown["after"].points
    same = same and shown["before"].marks == shown["after"].marks
    worst = p95(times["after"][0])
    verdict = "meets" if worst <= 150 else "misses"
    print(
        f"same series point by point: {same}; after p95 {worst:.0f} ms ({verdict} 150 ms); "
        f"load avg after {load()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="default: %(default)s")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--series", action="store_true", help="also 20 bots x 10,080 minutes")
    parser.add_argument("--series-url", help="default: a new SQLite file")
    args = parser.parse_args()
    db = Database(args.database_url)
    try:
        measure(db, f"overview data on {args.database_url}", args.calls)
    finally:
        db.dispose()
    if args.series:
        import equity_series

        url = args.series_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'series.db'}"
        upgrade(url)
        heavy = Database(url)
        try:
            equity_series.seed(heavy, 20, 10080, 20)
            measure(heavy, f"20 bots x 10,080 snapshots, 20 flows on {url}", args.calls)
        finally:
            heavy.dispose()


if __name__ == "__main__":
    main()
