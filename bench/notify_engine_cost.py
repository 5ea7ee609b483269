"""The engine's per-candle cost with notifications on vs off.

`--bots` paper bots (quick EMAs, so they trade: fills, signals, refusals) run through the
engine's own market data and bot runner on a SQLite file, candle by candle, on the bundled
real 1m klines: the live code path without the feed's clock. "On" is the engine as
shipped (each event one INSERT into the outbox in the candle's transaction); "off" turns
the outbox write into a no-op (the builders still run). Runs alternate on/off, each on a
fresh copy of the same database, and print the median milliseconds per bot-candle and the
events written, beside the load average. Goal: on within 5 % of off.

    .venv/bin/python bench/notify_engine_cost.py [--bots 20] [--candles 200] [--rounds 3]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlmodel import func, select

from botdesk.db import candles as candle_store
from botdesk.db import notifications
from botdesk.db.migrate import upgrade
from botdesk.db.models import Bot, Notification
from botdesk.db.session import Database
from botdesk.engine import leases
from botdesk.engine.klines import load_klines
from botdesk.engine.market import MarketData, candle_rows
from botdesk.engine.runner import BotRunner
from botdesk.engine.runtime import EngineRuntime
from botdesk.engine.sample_data import sample_file
from botdesk.settings import Settings

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
WARMUP = 600


def seeded(folder: Path, bots: int) -> Path:
    path = folder / "seed.db"
    upgrade(f"sqlite:///{path}")
    db = Database(f"sqlite:///{path}")
    with db.writing() as session:
        for number in range(bots):
            session.add(
                Bot(
                    name=f"bench-{number}",
                    strategy="ema_cross",
                    symbol=SYMBOLS[number % 3],
                    params=f'{{"fast": 2, "slow": {3 + number % 4}, "stop_atr": 0}}',
                    desired_state="running",
                    status="running",
                    capital=Decimal("10000"),
                )
            )
    db.dispose()
    return path


def one_run(seed: Path, folder: Path, candles: int, outbox: bool) -> tuple[float, int, int]:
    path = folder / f"run-{time.time_ns()}.db"
    shutil.copyfile(seed, path)
    db = Database(f"sqlite:///{path}")
    runtime = EngineRuntime(db=db, settings=Settings(DATABASE_URL=db.url), engine_id="bench")
    market = MarketData()
    runner = BotRunner(runtime, market)
    data = {symbol: load_klines(sample_file(symbol)).candles for symbol in SYMBOLS}
    original = notifications.emit_many
    if not outbox:
        notifications.emit_many = lambda _session, events: len(list(events))
    try:
        position = 0

        def step(minutes: int) -> tuple[int, float]:
            nonlocal position
            rows = []
            for symbol, frame in data.items():
                rows += candle_rows(
                    symbol, market.add(symbol, frame[position : position + minutes])
                )
            position += minutes
            with db.writing() as session:
                candle_store.upsert(session=session, candles=rows)
            leases.renew(runtime)
            started = time.perf_counter()
            done = runner.run()
            return done, time.perf_counter() - started

        step(WARMUP)
        runner.run()
        processed, seconds = 0, 0.0
        for _ in range(candles):
            done, took = step(1)
            processed += done
            seconds += took
        with db.reading() as session:
            events = session.exec(select(func.count()).select_from(Notification)).one()
    finally:
        notifications.emit_many = original
        db.dispose()
    return seconds * 1000 / max(processed, 1), processed, events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--candles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="notify-cost-"))
    seed = seeded(folder, args.bots)
    results: dict[bool, list[float]] = {True: [], False: []}
    events = {True: 0, False: 0}
    processed = 0
    for _ in range(args.rounds):
        for outbox in (False, True):
            per_candle, processed, written = one_run(seed, folder, args.candles, outbox)
            results[outbox].append(per_candle)
            events[outbox] = written
    shutil.rmtree(folder, ignore_errors=True)
    off, on = statistics.median(results[False]), statistics.median(results[True])
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"engine per-candle cost, {args.bots} bots, {args.candles} candles, {args.rounds} rounds")
    print(f"load average {load} on {os.cpu_count()} cores; {processed} bot-candles a run")
    print(f"notifications off: {off:.3f} ms per bot-candle ({events[False]} events written)")
    print(f"notifications on:  {on:.3f} ms per bot-candle ({events[True]} events written)")
    print(f"on / off: {on / off:.3f} (goal <= 1.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
