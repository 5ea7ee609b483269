"""The per-candle cost of the ML path on BTCUSDT 1h (or `--market`, e.g. BTCUSDT-5m, whose
candles carry taker-buy volume, so the order-flow columns are computed too).

Side by side in one process, on the same candles and the same model (trained here on a
temporary SQLite database, 200 rounds, promoted): `ml_predictor` on the 600-candle live
window candle after candle, alternating so all of them see the same load:

- whole window: every call computes the feature set of the window and predicts every
  row (the strategy before the row memo);
- slice again: the row memo, a new candle's row computed over its whole slice, structure
  columns included (`RowMemo(carry=False)`, the memo before the structure reader);
- carried: the row memo, a new candle's row computed over its slice with the structure
  columns stepped from the previous candle's state (`RowMemo(last_rows=False)`, the old
  path);
- last row: the row memo, the new candle's row alone (`last_row`) with the structure
  columns carried and the next blocks' slices read ahead (`carried_rows`), as the
  engine's bots ran before `one_pass_row` (the old path);
- one pass: the same, the new candle's row by `one_pass_row` (its fixed-window columns
  in one compiled pass, TA-Lib's C functions called directly), as the engine's bots run
  (the new path);

then N bots on one market sharing the memo, the carried, last row and one pass paths
alternating candle by candle; then the parts: the feature row of one new candle over its
slice beside the carried, last row and one pass ones (wall-clock medians), and one LightGBM
prediction by `Booster.predict` (one thread, and LightGBM's default threads) beside the
single-row fast path (`row_predictor`). CPU ms of the process per candle
(`time.process_time`): medians, means (a block's first candle weighs there) and the
block's first candles, with the load average.

    .venv/bin/python bench/ml_predict.py [--candles 600] [--bots 10] [--market BTCUSDT-1h]
"""

import argparse
import copy
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

import lightgbm as lgb

from botdesk.db.migrate import upgrade
from botdesk.db.session import Database
from botdesk.engine.klines import load_klines
from botdesk.engine.market import WINDOW_CANDLES
from botdesk.engine.strategies import registry as strategies
from botdesk.engine.timeframes import timeframe_ms
from botdesk.ml import feature_set, registry, training
from botdesk.ml.carried_rows import CarriedRows
from botdesk.ml.predictor import MODELS
from botdesk.ml.row_memo import RowMemo
from botdesk.ml.row_predictor import RowPredictor
from botdesk.ml.runs import TrainRequest, train
from botdesk.settings import get_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _median_ms(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _median_carried(followed: CarriedRows, window, step: int, last: int, repeats: int) -> float:
    """The carried row of the window's new candle, each time from the same state."""
    times = []
    for _ in range(repeats):
        carried = copy.deepcopy(followed)
        gc.collect()  # the copy's garbage is not the row's cost
        started = time.perf_counter()
        carried.compute(window, step, after_ms=last)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _model(path: Path, csv: Path, symbol: str, timeframe: str, to_ms: int) -> int:
    url = f"sqlite:///{path}"
    os.environ["BOTDESK_DATABASE_URL"] = url
    get_settings.cache_clear()
    upgrade(url)
    db = Database(url)
    request = TrainRequest(symbol, timeframe, str(csv), to_ms=to_ms)
    started = time.perf_counter()
    version = train(request, db=db, created_by="bench").model.id
    print(f"model {version} trained in {time.perf_counter() - started:.1f} s (200 rounds)")
    with db.writing() as session:
        registry.promote(session=session, version=version, actor="bench")
    db.dispose()
    return version


def _per_candle(candles, start: int, count: int, bots: list) -> list[float]:
    """CPU ms per candle for the bots together, walking the live window a candle at a time."""
    costs = []
    for end in range(start, start + count):
        window = candles[end - WINDOW_CANDLES : end]
        started = time.process_time()
        for bot in bots:
            bot.signals(window)
        costs.append((time.process_time() - started) * 1000)
    return costs


def _summary(costs: list[float], firsts: list[int]) -> str:
    """median, mean, and the mean of the block's first candles (`firsts`: their places)."""
    spike = statistics.mean(costs[at] for at in firsts) if firsts else float("nan")
    return f"{statistics.median(costs):8.3f}  {statistics.mean(costs):8.3f}  {spike:8.3f}"


def _block_firsts(candles, step: int, start: int, count: int) -> list[int]:
    blocks = feature_set.block_of(candles.open_time_ms[start - 2 : start + count], step)
    return [at for at in range(count) if blocks[at + 1] != blocks[at]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candles", type=int, default=600)
    parser.add_argument("--bots", type=int, default=10)
    parser.add_argument("--market", default="BTCUSDT-1h", help="SYMBOL-TIMEFRAME of shared/data")
    args = parser.parse_args()
    symbol, timeframe = args.market.split("-")
    csv = DATA / f"{args.market}.csv"
    step = timeframe_ms(timeframe)
    candles = load_klines(csv).candles[:9000]
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        version = _model(
            Path(folder) / "bench.db", csv, symbol, timeframe, int(candles.open_time_ms[6000])
        )
        params = {"model": version, "min_confidence": 0}
        start = 7000
        runs = {
            "whole window": None,
            "slice again": RowMemo(carry=False),
            "carried": RowMemo(last_rows=False),
            "last row (old)": RowMemo(one_pass=False),
            "one pass (new)": RowMemo(),
        }
        bots = {}
        for name, memo in runs.items():
            bots[name] = strategies.create("ml_predictor", params)
            bots[name].memo = memo
            for end in (start - 2, start - 1):  # the first candle, then one new (compiled)
                bots[name].signals(candles[end - WINDOW_CANDLES : end])
        costs = {name: [] for name in runs}
        for end in range(start, start + args.candles):  # alternating: the same load for all
            for name, bot in bots.items():
                costs[name] += _per_candle(candles, end, 1, [bot])
        firsts = _block_firsts(candles, step, start, args.candles)
        print(
            f"\nml_predictor, one bot, {args.candles} candles, {len(firsts)} block starts "
            f"(CPU ms a candle):\n  {'':<16}   median      mean  block's first candle"
        )
        for name, found in costs.items():
            print(f"  {name:<16} {_summary(found, firsts)}")
        later = start + args.candles + 1
        together = {}
        for name in ("carried", "last row (old)", "one pass (new)"):
            many = []
            for _ in range(args.bots):
                bot = strategies.create("ml_predictor", params)
                bot.memo = runs[name]  # shared, as the engine's bots share the process's memo
                many.append(bot)
            _per_candle(candles, later - 1, 1, many)  # the memo catches up
            together[name] = many
        costs = {name: [] for name in together}
        for end in range(later, later + args.candles):  # alternating, as above
            for name, many in together.items():
                costs[name] += _per_candle(candles, end, 1, many)
        firsts = _block_firsts(candles, step, later, args.candles)
        print(
            f"\n{args.bots} bots on one market sharing the memo, {args.candles} candles, "
            f"{len(firsts)} block starts (CPU ms a candle, all of them; a bot: median / N):"
            f"\n  {'':<16}   median      mean  block's first candle   a bot"
        )
        for name, found in costs.items():
            per_bot = statistics.median(found) / args.bots
            print(f"  {name:<16} {_summary(found, firsts)}  {per_bot:8.3f}")
        booster = MODELS.get(version, True).booster  # as the registry loaded it
    # the parts
    print(
        "\nthe parts (median ms):                    over its slice        carried"
        "  last row (old)  one pass (new)"
    )
    blocks = feature_set.block_of(candles.open_time_ms, step)
    for offset in (0, 1, 128, 255):
        end = int(next(i for i in range(5000, 6000) if blocks[i] != blocks[i - 1])) + offset
        window = candles[end + 1 - WINDOW_CANDLES : end + 1]
        last = int(candles.open_time_ms[end - 1])
        full = _median_ms(
            lambda window=window, last=last: feature_set.compute(window, step, after_ms=last), 30
        )
        paths = []
        for last_rows, one_pass in ((False, False), (True, False), (True, True)):
            followed = CarriedRows(last_rows, one_pass)  # has read the slice up to the one before
            followed.compute(window[:-1], step, after_ms=int(candles.open_time_ms[end - 2]))
            paths.append(_median_carried(followed, window, step, last, 30))
        print(
            f"  feature row of one new candle, {offset:>3} into its block: {full:8.3f}  "
            f"{paths[0]:13.3f}  {paths[1]:14.3f}  {paths[2]:14.3f}"
        )
    rows = feature_set.compute(candles[:6000], step)
    row = rows.values[-1:]
    fast = RowPredictor(booster)
    one = _median_ms(lambda: training.predict(booster, row), 300)
    default = _median_ms(lambda: booster.predict(row), 300)
    single = _median_ms(lambda: fast.predict(row[0]), 300)
    print(f"  one prediction, Booster.predict, one thread:        {one:8.3f}")
    print(f"  one prediction, Booster.predict, default threads:   {default:8.3f}")
    print(f"  one prediction, single-row fast path (one thread):  {single:8.3f}")
    print(f"lightgbm {lgb.__version__}; load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
