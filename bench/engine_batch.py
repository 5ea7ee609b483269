"""The live candle path end to end, per bot and candle: the batched path beside the per-bot
path in the same run, at 50, 200 and 1,000 paper bots, on SQLite and PostgreSQL.

Bots are spread over BTCUSDT, ETHUSDT and SOLUSDT (the bundled real 1m klines) and the five
strategies with varied parameters (`tick_cost.strategy_for`), under the desk's default
risk limits (`botdesk init` seeds them). Each contender drives the engine's own market data
and bot runner in-process (`tests/engine/driving.Driver`: the live code path without the
feed's clock) on its own fresh database; the contenders alternate candle by candle, so
both see the same machine. Compute (the strategies, through the safe wrapper) is timed
apart from the rest (database, risk, ledger: "db"). Wall-clock time is what a bot waits;
CPU time (this process's, so PostgreSQL's own work is not in it) is what other processes
on a busy machine cannot inflate. The load average is printed with each row.

    .venv/bin/python bench/engine_batch.py [--bots 50,200,1000] [--candles 8]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--strategy ema_cross]  (every bot on that one strategy, its parameters varied)
        [--per-bot-up-to 200]
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Timed:
    """Wraps the runner's `evaluate` to add up the strategies' time."""

    def __init__(self, evaluate):
        self.evaluate = evaluate
        self.seconds = 0.0

    def __call__(self, strategy, frame, **options):
        started = time.perf_counter()
        try:
            return self.evaluate(strategy, frame, **options)
        finally:
            self.seconds += time.perf_counter() - started


def fresh_database(kind: str, postgres: str | None) -> tuple[str, callable]:
    from botdesk.db.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
        upgrade(url)
        return url, lambda: None
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_engine_{uuid.uuid4().hex[:8]}"
    admin = make_url(postgres).set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    upgrade(url)

    def drop():
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


def contender(kind: str, postgres: str | None, bots: int, batched: bool, data, only=None):
    from bench.tick_cost import SYMBOLS, strategy_for
    from botdesk.db import risk_limits
    from botdesk.db.session import Database
    from tests.engine.driving import Driver, runtime_for
    from tests.factories import make_bot

    url, drop = fresh_database(kind, postgres)
    db = Database(url)
    with db.writing() as session:
        risk_limits.seed_defaults(session=session)
    for number in range(bots):
        name, params = strategy_for(number if only is None else number * 5 + only)
        make_bot(db, strategy=name, symbol=SYMBOLS[number % 3], params=params, state="running")
    driver = Driver(runtime_for(db), data)
    driver.runner.batched = batched
    return driver, db, drop


def measure(
    kind: str, postgres: str | None, bots: int, candles: int, data, paths, only=None
) -> dict:
    import botdesk.engine.runner as runner_module

    original = runner_module.evaluate
    sides = {}
    for batched in paths:
        sides[batched] = contender(kind, postgres, bots, batched, data, only)
    figures = {batched: {"total": 0.0, "compute": 0.0, "cpu": 0.0, "done": 0} for batched in sides}
    try:
        for _ in range(candles):
            for batched, (driver, _db, _drop) in sides.items():
                timer = Timed(original)
                runner_module.evaluate = timer
                started, cpu = time.perf_counter(), time.process_time()
                done = driver.step()
                spent = time.perf_counter() - started
                figures[batched]["cpu"] += time.process_time() - cpu
                runner_module.evaluate = original
                figures[batched]["total"] += spent
                figures[batched]["compute"] += timer.seconds
                figures[batched]["done"] += done
    finally:
        runner_module.evaluate = original
        for _driver, db, drop in sides.values():
            db.dispose()
            drop()
    return figures


STRATEGY_KINDS = ("ema_cross", "rsi_reversion", "bollinger_breakout", "macd_trend", "smc_structure")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", default="50,200,1000")
    parser.add_argument("--candles", type=int, default=8)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BOTDESK_TEST_POSTGRES_URL"),
        help="a PostgreSQL URL whose server may get scratch databases (none: SQLite only)",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--strategy",
        choices=STRATEGY_KINDS,
        help="every bot on this strategy (its parameters varied); default: the five in turn",
    )
    parser.add_argument(
        "--per-bot-up-to",
        type=int,
        default=None,
        help="run the per-bot path beside the batched one only up to this many bots "
        "(at 1,000 bots on a loaded machine it takes minutes a candle)",
    )
    args = parser.parse_args()
    from bench.tick_cost import SYMBOLS
    from botdesk.engine.klines import load_klines
    from botdesk.engine.sample_data import sample_file

    data = {symbol: load_klines(sample_file(symbol)).candles for symbol in SYMBOLS}
    kinds = ([] if args.skip_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    print(
        f"paper bots on {len(SYMBOLS)} symbols, {args.strategy or '5 strategies'}, default risk "
        "limits, "
        f"{args.candles} closed 1m candles each; ms per bot-candle (goal: <= 0.5 SQLite, "
        f"<= 1 PostgreSQL, batched)"
    )
    header = (
        f"{'database':<11}{'bots':>6}  {'path':<8}{'total':>8}{'compute':>9}{'db':>8}"
        f"{'CPU':>8}{'bot-candles':>13}{'candle, all bots':>18}  load avg"
    )
    print(header)
    batched_rows: dict[str, dict[int, tuple[float, float]]] = {}
    for kind in kinds:
        for bots in (int(count) for count in args.bots.split(",")):
            only = None if args.strategy is None else STRATEGY_KINDS.index(args.strategy)
            per_bot = args.per_bot_up_to is None or bots <= args.per_bot_up_to
            paths = (False, True) if per_bot else (True,)
            figures = measure(kind, args.postgres, bots, args.candles, data, paths, only)
            for batched in paths:
                row = figures[batched]
                done = max(row["done"], 1)
                total = row["total"] / done * 1000
                compute = row["compute"] / done * 1000
                per_candle = row["total"] / args.candles
                if batched:
                    cpu = row["cpu"] / done * 1000
                    batched_rows.setdefault(kind, {})[bots] = (total, cpu)
                print(
                    f"{kind:<11}{bots:>6}  {'batched' if batched else 'per-bot':<8}"
                    f"{total:>8.3f}{compute:>9.3f}{total - compute:>8.3f}"
                    f"{row['cpu'] / done * 1000:>8.3f}{row['done']:>13}"
                    f"{per_candle:>16.3f} s  {os.getloadavg()[0]:.2f}"
                )
            sys.stdout.flush()
    for kind, rows in batched_rows.items():
        fewest, most = min(rows), max(rows)
        if fewest != most:
            wall, cpu = (rows[most][i] / rows[fewest][i] for i in (0, 1))
            print(
                f"{kind}, batched, {fewest} -> {most} bots: per bot-candle x{wall:.2f} wall, "
                f"x{cpu:.2f} CPU"
            )
    print(
        f"(ms per bot-candle; total and its compute/db parts are wall clock, CPU is this "
        f"process's CPU time; {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
