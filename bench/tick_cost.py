"""Live tick cost: the engine's compute per bot per closed candle, with 200 bots.

200 bots are spread over BTCUSDT, ETHUSDT and SOLUSDT (the bundled real 1m klines) and
the five strategies, each with its own parameters (no two bots share a computation).
For each of the next `--candles` closed 1m candles, the engine's own code runs as it does
live: `MarketData.add` builds each symbol's windows once (shared by every bot on it), then
every bot evaluates its strategy on its 600-candle window through the safe wrapper and
reads the signal of the newest candle, inside the runner's `shared_results` scope (an
indicator computed with the same inputs and parameters for another bot on the same window
is reused, e.g. ATR(14) for every stop). Database writes are not included (--with-db).

    .venv/bin/python bench/tick_cost.py [--bots 200] [--candles 60] [--with-db]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from botdesk.engine.indicators.shared import shared_results
from botdesk.engine.klines import load_klines
from botdesk.engine.market import MarketData
from botdesk.engine.sample_data import sample_file
from botdesk.engine.strategies.registry import create
from botdesk.engine.strategies.safe import evaluate
from botdesk.engine.trading import StrategySignal

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
WARM = 2000


def strategy_for(number: int):
    kind = number % 5
    vary = number // 5
    if kind == 0:
        return "ema_cross", {"fast": 5 + vary % 7, "slow": 20 + vary % 13, "stop_atr": 2}
    if kind == 1:
        return "rsi_reversion", {
            "period": 7 + vary % 9,
            "oversold": 25 + vary % 10,
            "overbought": 65 + vary % 10,
            "stop_atr": 2,
        }
    if kind == 2:
        return "bollinger_breakout", {
            "period": 14 + vary % 15,
            "stddev": 1.5 + (vary % 6) / 4,
            "stop_atr": 2,
        }
    if kind == 3:
        return "macd_trend", {
            "fast": 8 + vary % 5,
            "slow": 21 + vary % 9,
            "signal": 5 + vary % 5,
            "stop_atr": 2,
        }
    return "smc_structure", {"swing": 3 + vary % 6, "min_confidence": 0.7, "stop_atr": 2}


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--candles", type=int, default=60)
    parser.add_argument(
        "--with-db",
        action="store_true",
        help="also time the bots' candle transactions on a SQLite file",
    )
    args = parser.parse_args()
    data = {symbol: load_klines(sample_file(symbol)).candles for symbol in SYMBOLS}
    market = MarketData()
    for symbol, frame in data.items():
        market.add(symbol, frame[:WARM])
    bots = []
    for number in range(args.bots):
        name, params = strategy_for(number)
        bots.append((SYMBOLS[number % 3], name, create(name, params)))
    per_bot: list[float] = []  # wall clock
    per_bot_cpu: list[float] = []  # this thread's CPU time: what other processes cannot inflate
    per_strategy: dict[str, list[float]] = defaultdict(list)
    windows: list[float] = []
    candle_totals: list[float] = []
    signals = 0
    for step in range(args.candles):
        started = time.perf_counter()
        for symbol, frame in data.items():
            market.add(symbol, frame[WARM + step : WARM + step + 1])
        built = time.perf_counter()
        windows.append(built - started)
        with shared_results():  # as the bot runner does for one pass
            for symbol, name, strategy in bots:
                began, cpu_began = time.perf_counter(), time.thread_time()
                window = market.frame(symbol, "1m")
                frame = evaluate(strategy, window)
                signal = StrategySignal.from_frame(frame, len(frame) - 1)
                per_bot.append(time.perf_counter() - began)
                spent = time.thread_time() - cpu_began
                per_bot_cpu.append(spent)
                per_strategy[name].append(spent)
                signals += signal is not None
        candle_totals.append(time.perf_counter() - started)
    ms = 1000
    print(
        f"{args.bots} bots on {len(SYMBOLS)} symbols, 1m windows of {market.window} candles, "
        f"{args.candles} closed candles, {signals} signals"
    )
    print("per bot per candle (indicators, strategy, signal):")
    for label, values in (("CPU time", per_bot_cpu), ("wall clock", per_bot)):
        print(
            f"  {label:<11} mean {statistics.mean(values) * ms:.3f} ms, "
            f"median {statistics.median(values) * ms:.3f} ms, "
            f"p99 {percentile(values, 0.99) * ms:.3f} ms"
        )
    print("CPU time by strategy:")
    for name, values in sorted(per_strategy.items()):
        print(
            f"  {name:<20} mean {statistics.mean(values) * ms:.3f} ms   "
            f"p99 {percentile(values, 0.99) * ms:.3f} ms   ({len(values) // args.candles} bots)"
        )
    print(
        f"shared windows per candle (3 symbols, 5 timeframes): "
        f"mean {statistics.mean(windows) * ms:.3f} ms"
    )
    print(
        f"whole candle for all bots (wall clock): mean {statistics.mean(candle_totals) * ms:.1f} "
        f"ms, max {max(candle_totals) * ms:.1f} ms"
    )
    print(f"load average while it ran: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.with_db:
        db_cost(args.bots)
    return 0


def db_cost(count: int) -> None:
    """Time the per-bot candle transactions (fills, signal, orders, snapshot, cursor)."""
    from botdesk.db.migrate import upgrade
    from botdesk.db.session import Database
    from tests.engine.driving import Driver, runtime_for
    from tests.factories import make_bot

    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    for number in range(count):
        name, params = strategy_for(number)
        make_bot(db, strategy=name, symbol=SYMBOLS[number % 3], params=params, state="running")
    driver = Driver(runtime_for(db), {s: load_klines(sample_file(s)).candles for s in SYMBOLS})
    started = time.perf_counter()
    steps = 10
    processed = sum(driver.step() for _ in range(steps))
    spent = time.perf_counter() - started
    print(
        f"with the SQLite transactions: {spent / processed * 1000:.2f} ms per bot and candle "
        f"({processed} bot-candles)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
