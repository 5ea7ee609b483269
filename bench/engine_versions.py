"""The batched candle path of two checkouts side by side in one run: this one ("after")
and another ("before", e.g. a worktree of main), per bot and candle, on SQLite and
PostgreSQL, at the bot counts given.

Each side runs in its own process with its own checkout's code (`bench/engine_batch.py`'s
bots, strategies and risk limits, the engine's market data and runner driven in-process
by `tests/engine/driving.Driver`) on its own fresh database; the two take turns candle by
candle, so both see the same machine. Columns as in `bench/engine_batch.py`: wall clock
(total, the strategies' compute, the rest "db"), this process's CPU time, load average.

    .venv/bin/python bench/engine_versions.py --before /work/wt/main-copy
        [--bots 200,1000] [--candles 24] [--warmup 1] [--postgres URL] [--skip-sqlite]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(kind: str, postgres: str | None, bots: int) -> None:
    """One side: set up, then one candle per "step" line on stdin, its figures on stdout."""
    import botdesk.engine.runner as runner_module
    from bench.engine_batch import Timed, contender
    from bench.tick_cost import SYMBOLS
    from botdesk.engine.klines import load_klines
    from botdesk.engine.sample_data import sample_file

    data = {symbol: load_klines(sample_file(symbol)).candles for symbol in SYMBOLS}
    driver, db, drop = contender(kind, postgres, bots, True, data)
    original = runner_module.evaluate
    print("ready", flush=True)
    try:
        for _line in sys.stdin:
            timer = Timed(original)
            runner_module.evaluate = timer
            started, cpu = time.perf_counter(), time.process_time()
            done = driver.step()
            figures = {
                "total": time.perf_counter() - started,
                "cpu": time.process_time() - cpu,
                "compute": timer.seconds,
                "done": done,
            }
            runner_module.evaluate = original
            print(json.dumps(figures), flush=True)
    finally:
        db.dispose()
        drop()


class Side:
    def __init__(self, checkout: Path, kind: str, postgres: str | None, bots: int):
        env = dict(os.environ, PYTHONPATH=str(checkout))
        args = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(bots)]
        if postgres:
            args += ["--postgres", postgres]
        self.process = subprocess.Popen(
            args, cwd=checkout, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{checkout}: the worker did not start ({line!r})")
        self.figures = {"total": 0.0, "cpu": 0.0, "compute": 0.0, "done": 0}

    def step(self) -> None:
        self.process.stdin.write("step\n")
        self.process.stdin.flush()
        for name, value in json.loads(self.process.stdout.readline()).items():
            self.figures[name] += value

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=300)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="the other checkout (its own .py files)")
    parser.add_argument("--bots", default="200,1000")
    parser.add_argument(
        "--candles", type=int, default=24, help="candles measured (8 are too few at 200 bots)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="candles each side runs first, not counted"
    )
    parser.add_argument("--postgres", default=os.environ.get("BOTDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "BOTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.postgres, int(args.worker[1]))
        return 0
    kinds = ([] if args.skip_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    print(
        f"batched path, before ({args.before}) and after ({ROOT}), {args.candles} closed 1m "
        "candles, turns taken candle by candle; ms per bot-candle"
    )
    print(
        f"{'database':<11}{'bots':>6}  {'side':<7}{'total':>8}{'compute':>9}{'db':>8}"
        f"{'CPU':>8}{'bot-candles':>13}{'candle, all bots':>18}  load avg"
    )
    for kind in kinds:
        for bots in (int(count) for count in args.bots.split(",")):
            sides = {"before": Side(args.before, kind, args.postgres, bots)}
            sides["after"] = Side(ROOT, kind, args.postgres, bots)
            try:
                for _ in range(args.warmup):
                    for side in sides.values():
                        side.step()
                for side in sides.values():
                    side.figures = dict.fromkeys(side.figures, 0)
                for _ in range(args.candles):
                    for side in sides.values():
                        side.step()
            finally:
                for side in sides.values():
                    side.close()
            for name, side in sides.items():
                row = side.figures
                done = max(row["done"], 1)
                total, compute = row["total"] / done * 1000, row["compute"] / done * 1000
                print(
                    f"{kind:<11}{bots:>6}  {name:<7}{total:>8.3f}{compute:>9.3f}"
                    f"{total - compute:>8.3f}{row['cpu'] / done * 1000:>8.3f}{row['done']:>13}"
                    f"{row['total'] / args.candles:>16.3f} s  {os.getloadavg()[0]:.2f}"
                )
            sys.stdout.flush()
    print(f"(wall clock and this process's CPU time; {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.environ.get("PYTHONPATH") or str(ROOT))
    sys.exit(main())
