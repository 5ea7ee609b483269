"""Backtest speed: botdesk's backtest against backtesting.py, same strategy, same data.

Both run `ema_cross` (EMA 9/21 from TA-Lib, long on the fast EMA crossing above the slow
one, flat on the cross back; market orders at the next open; 0.1% fee; a position still
open at the end closed at the last close) on the real 1h Binance klines of
../shared/data (2021-04 to 2023-12, 23,986 candles each). Loading the CSV is outside the
timing for both; signals, simulation and statistics are inside. Times are the thread's
CPU time by default (a shared host's other processes cannot inflate them), wall clock
with --wall. Trade counts are printed
side by side to show both ran the same strategy.

    .venv/bin/python bench/backtest_speed.py [--repeat 5] [--files BTCUSDT-1h.csv ...]
"""

import argparse
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path

import pandas as pd
import talib
from backtesting import Backtest, Strategy

from botdesk.engine.backtest.metrics import measure
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.klines import load_klines
from botdesk.engine.strategies.registry import create
from botdesk.engine.strategies.safe import evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
clock = time.thread_time  # CPU time of this thread: other processes on the host cannot inflate it
FAST, SLOW = 9, 21


class EmaCrossBacktesting(Strategy):
    """botdesk's ema_cross rule, written for backtesting.py."""

    def init(self):
        close = self.data.Close.astype(float)
        self.fast = self.I(talib.EMA, close, FAST)
        self.slow = self.I(talib.EMA, close, SLOW)

    def next(self):
        fast, slow = self.fast, self.slow
        if not self.position and fast[-2] <= slow[-2] and fast[-1] > slow[-1]:
            self.buy()
        elif self.position and fast[-2] >= slow[-2] and fast[-1] < slow[-1]:
            self.position.close()


def ours(candles, stop_atr: float):
    strategy = create("ema_cross", {"fast": FAST, "slow": SLOW, "stop_atr": stop_atr})
    started = clock()
    signals = evaluate(strategy, candles)
    result = simulate(
        candles,
        signals,
        fee_rate=Decimal("0.001"),
        slippage_bps=Decimal(0),
        capital=Decimal(10_000),
    )
    measure(result, capital=Decimal(10_000), candle_ms=3_600_000)
    return clock() - started, len(result.trades)


def theirs(frame: pd.DataFrame):
    started = clock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(
            frame,
            EmaCrossBacktesting,
            cash=100_000_000,
            commission=0.001,
            finalize_trades=True,
        ).run()
    return clock() - started, int(stats["# Trades"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per engine (best is kept)")
    parser.add_argument(
        "--wall", action="store_true", help="time with the wall clock instead of CPU time"
    )
    parser.add_argument(
        "--files",
        nargs="*",
        default=["BTCUSDT-1h.csv", "ETHUSDT-1h.csv", "BNBUSDT-1h.csv", "SOLUSDT-1h.csv"],
    )
    args = parser.parse_args()
    global clock
    if args.wall:
        clock = time.perf_counter
    if not DATA.exists():
        print(f"no data at {DATA}; see ../shared/data/README.md")
        return 1
    what = "wall clock" if args.wall else "CPU time of the one thread"
    print(f"ema_cross({FAST}, {SLOW}), best of {args.repeat} runs each, {what}")
    header = (
        f"{'file':<16}{'candles':>9}{'trades':>14}{'botdesk':>12}{'backtesting.py':>16}"
        f"{'botdesk c/s':>14}{'bt.py c/s':>12}{'speed-up':>10}"
    )
    print(header)
    print("-" * len(header))
    total_ours = total_theirs = total_candles = 0.0
    for name in args.files:
        candles = load_klines(DATA / name).candles
        frame = pd.DataFrame(
            {
                "Open": candles.open,
                "High": candles.high,
                "Low": candles.low,
                "Close": candles.close,
                "Volume": candles.volume,
            },
            index=pd.to_datetime(candles.open_time_ms, unit="ms"),
        )
        our_times, their_times = [], []
        for _ in range(args.repeat):
            seconds, our_trades = ours(candles, stop_atr=0)
            our_times.append(seconds)
            seconds, their_trades = theirs(frame)
            their_times.append(seconds)
        best_ours, best_theirs = min(our_times), min(their_times)
        count = len(candles)
        total_ours += best_ours
        total_theirs += best_theirs
        total_candles += count
        print(
            f"{name:<16}{count:>9,}{f'{our_trades} / {their_trades}':>14}"
            f"{best_ours * 1000:>10.1f}ms{best_theirs * 1000:>14.1f}ms"
            f"{count / best_ours:>14,.0f}{count / best_theirs:>12,.0f}"
            f"{best_theirs / best_ours:>9.0f}x"
        )
        if our_trades != their_trades:
            print(f"  trade counts differ on {name}", file=sys.stderr)
    print("-" * len(header))
    print(
        f"{'all files':<16}{int(total_candles):>9,}{'':>14}{total_ours * 1000:>10.1f}ms"
        f"{total_theirs * 1000:>14.1f}ms{total_candles / total_ours:>14,.0f}"
        f"{total_candles / total_theirs:>12,.0f}{total_theirs / total_ours:>9.0f}x"
    )
    candles = load_klines(DATA / args.files[0]).candles
    with_stops = min(ours(candles, stop_atr=2)[0] for _ in range(args.repeat))
    print(
        f"botdesk with its ATR stop (stop_atr=2) on {args.files[0]}: "
        f"{with_stops * 1000:.1f}ms, {len(candles) / with_stops:,.0f} candles/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
