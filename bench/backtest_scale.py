"""Backtest speed at scale: botdesk's compiled core against vectorbt, a plain numba pass and
botdesk's Decimal reference, on 24k, 100k and 400k real candles; and loading the kline
CSV against pandas.read_csv.

The strategy is ema_cross(9, 21) without a stop: long when TA-Lib's EMA 9 crosses above
EMA 21 on a candle's close, flat on the cross back; every order fills at the next candle's
open; 0.1 % fee; a position open at the end is valued at the last close.

- botdesk: the whole `run_backtest` on a loaded history (`load_history`: the candles'
  units are computed once per history, timed apart as "prepare"): the strategy's
  `signals` and their check, the core's simulation in integer units (sizing all-cash, as
  vectorbt's size=inf, so the trades compare) and the figures (return, drawdown, Sharpe,
  win rate, profit factor).
- vectorbt: the same EMAs (TA-Lib), its crossings, Portfolio.from_signals filling at the
  next open, and the same figures from its stats. Its trades (entry and exit candle and
  price) are compared with botdesk's and the comparison printed.
- (core): botdesk's simulation alone, on the signals computed before (with the equity
  figures' passes: the core makes the first as it writes the equity).
- numba: one compiled loop computing both EMAs, the crossings and an all-cash float
  position: what the hardware does with nothing else to do (no exactness, no figures).
- Decimal: botdesk's reference simulation (`botdesk.engine.backtest.reference`), the
  engine before the compiled core, with the same signals and figures.

Data: 24k is BTCUSDT-1h.csv (23,986 candles). 100k and 400k are one continuous price path
made of the real files of ../shared/data: the 1m files of BTC, ETH, SOL and XRP, then the
four 5m files, then the four 1h files, then the 1m files again, each file's prices scaled
(rounded to 8 decimals) so that it opens where the one before closed, and every candle
re-timed one minute after the one before. They are written as CSV for the load timing.

Times are wall clock (pyarrow reads with threads), best of --repeat rounds, each round
running every contender once in turn (a busy spell of the shared host falls on all of
them); the load average is printed with each row, and "(cpu)" gives the same ratio in
process time (best of the rounds), which waiting for a busy core does not inflate
(pyarrow's threads count in it). Last, a sweep of 12 parameter sets over the 400k history
with `run_sweep` beside a `run_backtest` loop over the same loaded history, results
compared.

    .venv/bin/python bench/backtest_scale.py [--repeat 5] [--sizes 24000 100000 400000]
"""

import argparse
import os
import sys
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import talib
from numba import njit

from botdesk.engine import klines
from botdesk.engine.backtest import reference
from botdesk.engine.backtest.data import load_history
from botdesk.engine.backtest.metrics import measure
from botdesk.engine.backtest.runs import BacktestRequest, run_backtest
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.backtest.sweep import run_sweep
from botdesk.engine.frames import CandleFrame
from botdesk.engine.strategies.registry import create
from botdesk.engine.strategies.safe import evaluate

try:
    import vectorbt as vbt
except ImportError:  # a bench-only dependency
    vbt = None

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FAST, SLOW, FEE = 9, 21, 0.001
CAPITAL = 10**9  # 0.2 % of fees a round trip for 9,000 trades leaves a few units of 10,000
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
PATH_FILES = [f"{s}-1m.csv" for s in SYMBOLS] + [
    f"{s}-{i}.csv" for i in ("5m", "1h") for s in (*SYMBOLS[:3], "BNBUSDT")
]


CPU = {}  # the best process time of the last `best` call of each function, by name


def best(function, repeat: int) -> tuple[float, object]:
    """The best wall time of `repeat` calls (and, in CPU, the best process time: on a
    shared host the wall time includes waiting for a core, the process time does not)."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU[getattr(function, "__qualname__", "")] = min(cpu)
    return min(times), result


def price_path(count: int) -> CandleFrame:
    """`count` 1m candles of one continuous path through the real files (module doc)."""
    parts, last_close, total = [], None, 0
    files = PATH_FILES + [f"{s}-1m.csv" for s in SYMBOLS] * 4
    for name in files:
        frame = klines.load_klines(DATA / name).candles
        scale = 1.0 if last_close is None else last_close / frame.open[0]
        prices = [np.round(getattr(frame, n) * scale, 8) for n in ("open", "high", "low", "close")]
        parts.append((prices, frame.volume))
        last_close = float(prices[3][-1])
        total += len(frame)
        if total >= count:
            break
    columns = [np.concatenate([p[0][i] for p in parts])[:count] for i in range(4)]
    volume = np.concatenate([p[1] for p in parts])[:count]
    times = 1_599_999_960_000 + 60_000 * np.arange(count, dtype=np.int64)
    return CandleFrame.from_arrays(times, *columns, volume)


def write_csv(frame: CandleFrame, path: Path) -> None:
    frame.to_pandas().to_csv(path, index=False, float_format="%.8f")


def ours(history):
    """The whole `run_backtest` of the request on the loaded history."""
    request = BacktestRequest(
        "ema_cross", {"fast": FAST, "slow": SLOW, "stop_atr": 0}, history.symbol,
        history.timeframe, history.source, capital=Decimal(CAPITAL),
    )  # fmt: skip
    return lambda: run_backtest(request, history=history).simulation


def core_only(history):
    """The simulation alone, on signals computed before (what the compiled core does)."""
    strategy = create("ema_cross", {"fast": FAST, "slow": SLOW, "stop_atr": 0})
    signals = evaluate(strategy, history.candles)
    return lambda: simulate(
        history.candles, signals, fee_rate=Decimal("0.001"), slippage_bps=Decimal(0),
        capital=Decimal(CAPITAL), units=history.units,
    )  # fmt: skip


def decimal_reference(candles, repeat: int):
    strategy = create("ema_cross", {"fast": FAST, "slow": SLOW, "stop_atr": 0})

    def run():
        signals = evaluate(strategy, candles)
        result = reference.simulate(
            candles, signals, fee_rate=Decimal("0.001"), slippage_bps=Decimal(0),
            capital=Decimal(CAPITAL),
        )  # fmt: skip
        measure(result, capital=Decimal(CAPITAL), candle_ms=60_000)
        return result

    return best(run, repeat)


def vectorbt_run(candles):
    index = pd.to_datetime(candles.open_time_ms, unit="ms")
    close = pd.Series(candles.close, index=index)
    open_ = pd.Series(candles.open, index=index)

    def run():
        fast = pd.Series(talib.EMA(candles.close, FAST), index=index)
        slow = pd.Series(talib.EMA(candles.close, SLOW), index=index)
        entries = fast.vbt.crossed_above(slow).shift(1, fill_value=False)  # fill at next open
        exits = fast.vbt.crossed_below(slow).shift(1, fill_value=False)
        portfolio = vbt.Portfolio.from_signals(
            close, entries, exits, price=open_, fees=FEE, init_cash=CAPITAL, freq="1min"
        )
        portfolio.total_return()
        portfolio.max_drawdown()
        portfolio.sharpe_ratio()
        portfolio.trades.win_rate()
        portfolio.trades.profit_factor()
        return portfolio

    return run


@njit(cache=True)
def plain_pass(open_, close, fast, slow, fee, capital):
    """Both EMAs (TA-Lib's seed), the crossings and an all-cash float position, one loop."""
    count = len(close)
    k_fast, k_slow = 2.0 / (fast + 1), 2.0 / (slow + 1)
    ema_fast = ema_slow = 0.0
    sum_fast = sum_slow = 0.0
    before_fast = before_slow = np.nan
    cash, held, pending, trades = capital, 0.0, 0, 0
    for i in range(count):
        if pending == 1 and held == 0.0:
            held = cash * 0.995 / (open_[i] * (1 + fee))
            cash -= held * open_[i] * (1 + fee)
            trades += 1
        elif pending == -1 and held > 0.0:
            cash += held * open_[i] * (1 - fee)
            held = 0.0
        pending = 0
        price = close[i]
        if i < fast:
            sum_fast += price
            ema_fast = sum_fast / fast if i == fast - 1 else np.nan
        else:
            ema_fast += k_fast * (price - ema_fast)
        if i < slow:
            sum_slow += price
            ema_slow = sum_slow / slow if i == slow - 1 else np.nan
        else:
            ema_slow += k_slow * (price - ema_slow)
        if before_fast <= before_slow and ema_fast > ema_slow:
            pending = 1
        elif before_fast >= before_slow and ema_fast < ema_slow:
            pending = -1
        before_fast, before_slow = ema_fast, ema_slow
    return cash + held * close[-1], trades


def numba_run(candles):
    return lambda: plain_pass(candles.open, candles.close, FAST, SLOW, FEE, CAPITAL)


def rounds(contenders: dict, repeat: int) -> dict:
    """{name: (best wall time, best process time, last result)}, each contender run once
    a round, `repeat` rounds: a busy spell of the shared host falls on all of them."""
    wall = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    results = {}
    for _ in range(repeat):
        for name, function in contenders.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            results[name] = function()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return {name: (min(wall[name]), min(cpu[name]), results[name]) for name in contenders}


def trades_compared(result, portfolio) -> str:
    """Entry and exit candle and price of every trade, botdesk's against vectorbt's."""
    records = portfolio.trades.records_arr
    theirs = list(
        zip(
            records["entry_idx"].tolist(),
            records["entry_price"].tolist(),
            records["exit_idx"].tolist(),
            records["exit_price"].tolist(),
            strict=True,
        )
    )
    table = result.table
    mine = list(
        zip(
            table.entry_index.tolist(),
            (table.entry_price / 1e8).tolist(),
            table.exit_index.tolist(),
            (table.exit_price / 1e8).tolist(),
            strict=True,
        )
    )
    # vectorbt's fill price is the open after a float round trip (63793.73999999999 for
    # 63793.74): compared at the ledger's 8 decimals
    theirs = [(a, round(b, 8), c, round(d, 8)) for a, b, c, d in theirs]
    return f"{len(mine)} / {len(theirs)} {'equal' if mine == theirs else 'DIFFER'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[24_000, 100_000, 400_000])
    args = parser.parse_args()
    if not DATA.exists():
        print(f"no data at {DATA}; see ../shared/data/README.md")
        return 1
    if vbt is None:
        print("vectorbt is missing: pip install -e '.[bench]' (a bench-only dependency)")
        return 1
    warnings.simplefilter("ignore")
    print("ema_cross(9, 21), fee 0.1 %, fills at the next open; best of", args.repeat, "(wall)")
    head = (
        f"{'candles':>8} {'botdesk':>9} {'(core)':>8} {'prepare':>8} {'vectorbt':>9} "
        f"{'numba':>8} {'Decimal':>9} {'vs vbt':>7} {'vs numba':>9} {'(cpu)':>6} "
        f"{'core/numba':>10} "
        f"{'trades (ours / vbt)':>22}  load avg"
    )
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for size in args.sizes:
            if size == 24_000:
                files[size] = DATA / "BTCUSDT-1h.csv"
            else:
                files[size] = Path(folder) / f"PATHUSDT-1m-{size}.csv"
                write_csv(price_path(size), files[size])
        # compile (numba caches on disk too) and warm up every contender once
        warm = load_history(
            str(files[args.sizes[0]]),
            symbol=_symbol(files[args.sizes[0]]),
            timeframe=_tf(files[args.sizes[0]]),
        )
        rounds({"ours": ours(warm), "numba": numba_run(warm.candles)}, 1)
        vectorbt_run(warm.candles)()
        loads = []
        for size in args.sizes:
            path = files[size]
            history = load_history(str(path), symbol=_symbol(path), timeframe=_tf(path))
            candles = history.candles
            prepare, _ = best(lambda h=history: h.units.__class__.of(h.candles), args.repeat)
            timed = rounds(
                {
                    "ours": ours(history),
                    "core": core_only(history),
                    "vectorbt": vectorbt_run(candles),
                    "numba": numba_run(candles),
                },
                args.repeat,
            )
            seconds, ours_cpu, result = timed["ours"]
            core_seconds = timed["core"][0]
            their_seconds, _, portfolio = timed["vectorbt"]
            numba_seconds, numba_cpu, _ = timed["numba"]
            decimal_seconds, _ = decimal_reference(candles, max(1, args.repeat // 2))
            print(
                f"{len(candles):>8,} {seconds * 1e3:>7.1f}ms {core_seconds * 1e3:>6.1f}ms "
                f"{prepare * 1e3:>6.1f}ms {their_seconds * 1e3:>7.1f}ms "
                f"{numba_seconds * 1e3:>6.2f}ms {decimal_seconds * 1e3:>7.1f}ms "
                f"{their_seconds / seconds:>6.1f}x {seconds / numba_seconds:>8.1f}x "
                f"{ours_cpu / numba_cpu:>5.1f}x "
                f"{core_seconds / numba_seconds:>9.1f}x {trades_compared(result, portfolio):>22}  "
                f"{_load()}"
            )
            loads.append((size, path, len(candles)))
        print()
        print(f"{'kline CSV':>26} {'botdesk':>9} {'pandas':>9} {'ratio':>6} {'(cpu)':>6}  load avg")
        for _size, path, count in loads:
            mine, theirs, mine_cpu, theirs_cpu = [], [], [], []
            for _ in range(args.repeat):  # interleaved
                contenders = ((mine, mine_cpu, _first_read), (theirs, theirs_cpu, pd.read_csv))
                for timing, cpu, load in contenders:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    load(path)
                    timing.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - started_cpu)
            print(
                f"{path.name[:16]:>16} {count:>9,} {min(mine) * 1e3:>7.1f}ms "
                f"{min(theirs) * 1e3:>7.1f}ms {min(mine) / min(theirs):>5.2f}x "
                f"{min(mine_cpu) / min(theirs_cpu):>5.2f}x  {_load()}"
            )
        print()
        history = load_history(str(loads[-1][1]), symbol=_symbol(loads[-1][1]), timeframe="1m")
        sets = [
            {"fast": fast, "slow": slow, "stop_atr": 0}
            for fast in (5, 9, 13, 21)
            for slow in (30, 50, 100)
        ]
        request = BacktestRequest(
            "ema_cross", {}, _symbol(loads[-1][1]), "1m", str(loads[-1][1]),
            capital=Decimal(CAPITAL),
        )  # fmt: skip
        run_sweep(request, sets[:2], history=history)  # compiled, warm
        started = time.perf_counter()
        swept = run_sweep(request, sets, history=history)
        spent = time.perf_counter() - started
        started = time.perf_counter()
        alone = [
            run_backtest(BacktestRequest(**{**request.__dict__, "params": one}), history=history)
            for one in sets
        ]
        looped = time.perf_counter() - started
        same = sum(
            a.metrics == b.metrics and a.simulation.table.equals(b.table)
            for a, b in zip(alone, swept, strict=True)
        )
        print(
            f"{len(sets)} ema_cross parameter sets over {len(history.candles):,} candles, one "
            f"loaded history: run_sweep {spent / len(sets) * 1e3:.1f}ms a set, run_backtest "
            f"{looped / len(sets) * 1e3:.1f}ms a set; {same} of {len(sets)} the same  {_load()}"
        )
    return 0


def _first_read(path: Path):
    klines._cached.cache_clear()  # a first read, not the cached one
    return klines.load_klines(path)


def _symbol(path: Path) -> str:
    return path.stem.split("-")[0]


def _tf(path: Path) -> str:
    return path.stem.split("-")[1]


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
