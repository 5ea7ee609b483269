"""A parameter sweep: 1,000 ema_cross parameter sets on BTCUSDT-1h (23,986 real candles),
botdesk's `run_sweep` beside vectorbt's multi-parameter run of the same signals and fill
rule, and beside a loop of `run_backtest` over the same loaded history, in one run.

- sweep: `run_sweep` (the candles loaded once, EMAs shared, the compiled core over all
  sets on both cores, exact to the unit; every set's figures: return, drawdown, Sharpe,
  win rate, profit factor, fees, final equity).
- loop: `run_backtest` for each set on the same loaded history (what a sweep costs
  without `run_sweep`; the figures are the same: checked).
- vectorbt: TA-Lib's EMA through vectorbt's indicator factory for the 1,000 fast and
  1,000 slow periods, its crossings, entries and exits moved to the next candle,
  `Portfolio.from_signals` over 1,000 columns filling at the next open with the same fee
  and all cash, and the same figures from its stats. Its trades (entry and exit candle
  and price, 8 decimals) are compared with the sweep's, set by set, and the comparison
  printed; so are the sweep's and the loop's figures.

Sets: fast 2..21 x slow 25, 28, ..., 172 (1,000), stop_atr 0, fee 0.1 %, capital 10^9
(as bench/backtest_scale.py: all-cash for thousands of trades). Wall times, best of
--repeat runs with the contenders interleaved, the load average beside each (the host is
shared: 2 cores), and the process time (all threads: the sweep's second core counts).

    .venv/bin/python bench/sweep_speed.py [--repeat 3] [--sets 1000]
"""

import argparse
import os
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from botdesk.engine.backtest.data import load_history
from botdesk.engine.backtest.runs import BacktestRequest, run_backtest
from botdesk.engine.backtest.sweep import run_sweep

try:
    import vectorbt as vbt
except ImportError:  # a bench-only dependency
    vbt = None

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PATH = DATA / "BTCUSDT-1h.csv"
FEE, CAPITAL = 0.001, 10**9


def parameter_sets(count: int) -> list[dict]:
    sets = [
        {"fast": fast, "slow": slow, "stop_atr": 0}
        for fast in range(2, 22)
        for slow in range(25, 175, 3)
    ]
    return sets[:count]


def request() -> BacktestRequest:
    return BacktestRequest(
        strategy="ema_cross",
        params={},
        symbol="BTCUSDT",
        timeframe="1h",
        data_source=str(PATH),
        fee_rate=Decimal("0.001"),
        capital=Decimal(CAPITAL),
    )


def ours(history, sets):
    return run_sweep(request(), sets, history=history)


def loop(history, sets):
    base = request()
    return [
        run_backtest(
            BacktestRequest(**{**base.__dict__, "params": params}), history=history
        ).metrics
        for params in sets
    ]


def vectorbt_run(candles, sets):
    index = pd.to_datetime(candles.open_time_ms, unit="ms")
    close = pd.Series(candles.close, index=index)
    open_ = pd.Series(candles.open, index=index)
    ema = vbt.IndicatorFactory.from_talib("EMA")
    fast = ema.run(close, timeperiod=[s["fast"] for s in sets], short_name="fast")
    slow = ema.run(close, timeperiod=[s["slow"] for s in sets], short_name="slow")
    slow_values = slow.real.values
    entries = fast.real_crossed_above(slow_values).vbt.fshift(1).fillna(False).astype(bool)
    exits = fast.real_crossed_below(slow_values).vbt.fshift(1).fillna(False).astype(bool)
    portfolio = vbt.Portfolio.from_signals(
        close, entries, exits, price=open_, fees=FEE, init_cash=CAPITAL, freq="1h"
    )
    portfolio.total_return()
    portfolio.max_drawdown()
    portfolio.sharpe_ratio()
    portfolio.trades.win_rate()
    portfolio.trades.profit_factor()
    return portfolio


def trades_compared(results, portfolio) -> str:
    records = portfolio.trades.records_arr
    order = np.argsort(records["col"], kind="stable")
    records = records[order]
    bounds = np.searchsorted(records["col"], np.arange(len(results) + 1))
    equal = total = 0
    for k, result in enumerate(results):
        theirs = records[bounds[k] : bounds[k + 1]]
        table = result.table
        same = (
            len(theirs) == len(table)
            and np.array_equal(theirs["entry_idx"], table.entry_index)
            and np.array_equal(theirs["exit_idx"], table.exit_index)
            and np.array_equal(np.round(theirs["entry_price"], 8), table.entry_price / 1e8)
            and np.array_equal(np.round(theirs["exit_price"], 8), table.exit_price / 1e8)
        )
        equal += same
        total += len(table)
    return f"{equal} of {len(results)} sets equal ({total:,} trades)"


def best(function, times: list, cpu: list) -> object:
    started, started_cpu = time.perf_counter(), time.process_time()
    result = function()
    times.append(time.perf_counter() - started)
    cpu.append(time.process_time() - started_cpu)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sets", type=int, default=1000)
    args = parser.parse_args()
    if not PATH.exists():
        print(f"no data at {PATH}; see ../shared/data/README.md")
        return 1
    if vbt is None:
        print("vectorbt is missing: pip install -e '.[bench]' (a bench-only dependency)")
        return 1
    warnings.simplefilter("ignore")
    sets = parameter_sets(args.sets)
    history = load_history(str(PATH), symbol="BTCUSDT", timeframe="1h")
    history.units  # noqa: B018 (the candles' units, computed once per loaded history)
    # compile (numba caches on disk too) and warm up every contender once
    ours(history, sets[:4]), loop(history, sets[:2]), vectorbt_run(history.candles, sets[:4])
    timed = {"sweep": [], "loop": [], "vectorbt": []}
    cpu = {name: [] for name in timed}
    loads = []
    for _ in range(args.repeat):
        results = best(lambda: ours(history, sets), timed["sweep"], cpu["sweep"])
        portfolio = best(
            lambda: vectorbt_run(history.candles, sets), timed["vectorbt"], cpu["vectorbt"]
        )
        looped = best(lambda: loop(history, sets), timed["loop"], cpu["loop"])
        loads.append(_load())
    print(
        f"{len(sets):,} ema_cross sets on {len(history.candles):,} BTCUSDT 1h candles, "
        f"fee 0.1 %, fills at the next open; best of {args.repeat} interleaved (wall), "
        f"{os.cpu_count()} cores"
    )
    head = (
        f"{'contender':>10} {'total':>9} {'a set':>9} {'vs sweep':>9} {'cpu':>9} "
        f"{'(vs sweep)':>10}  load avg (each round)"
    )
    print(head)
    print("-" * len(head))
    sweep_time = min(timed["sweep"])
    for name, values in timed.items():
        seconds = min(values)
        print(
            f"{name:>10} {seconds * 1e3:>7.0f}ms {seconds / len(sets) * 1e6:>7.0f}us "
            f"{seconds / sweep_time:>8.1f}x {min(cpu[name]) * 1e3:>7.0f}ms "
            f"{min(cpu[name]) / min(cpu['sweep']):>9.1f}x  {' '.join(loads)}"
        )
    same_figures = sum(r.metrics == m for r, m in zip(results, looped, strict=True))
    print()
    print(f"trades, sweep vs vectorbt: {trades_compared(results, portfolio)}")
    print(f"figures, sweep vs run_backtest loop: {same_figures} of {len(sets)} sets equal")
    print(f"vectorbt / sweep: {min(timed['vectorbt']) / sweep_time:.1f}x")
    return 0


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
