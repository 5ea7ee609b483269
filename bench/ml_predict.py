"""The per-candle cost of the ML path on BTCUSDT 1h.

Side by side in one process, on the same candles and the same model (trained here on a
temporary SQLite database, 200 rounds, promoted): `ml_predictor` on the 600-candle live
window candle after candle, **before** (every call computes the feature set of the whole
window and predicts every row: the strategy until the row memo) and **after** (the row
memo: one new row a candle, shared by the bots of a market, and one prediction a bot);
then the parts: the feature row of one new candle, and one LightGBM prediction with one
thread beside LightGBM's default threads. Medians, with the load average.

    .venv/bin/python bench/ml_predict.py [--candles 200] [--bots 10]
"""

import argparse
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
from botdesk.ml import feature_set, registry, training
from botdesk.ml.predictor import MODELS
from botdesk.ml.row_memo import RowMemo
from botdesk.ml.runs import TrainRequest, train
from botdesk.settings import get_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HOUR = 3_600_000


def _median_ms(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _model(path: Path, csv: Path, to_ms: int) -> int:
    url = f"sqlite:///{path}"
    os.environ["BOTDESK_DATABASE_URL"] = url
    get_settings.cache_clear()
    upgrade(url)
    db = Database(url)
    request = TrainRequest("BTCUSDT", "1h", str(csv), to_ms=to_ms)
    started = time.perf_counter()
    version = train(request, db=db, created_by="bench").model.id
    print(f"model {version} trained in {time.perf_counter() - started:.1f} s (200 rounds)")
    with db.writing() as session:
        registry.promote(session=session, version=version, actor="bench")
    db.dispose()
    return version


def _per_candle(candles, start: int, count: int, bots: list) -> list[float]:
    """ms per candle for the bots together, walking the live window one candle at a time."""
    costs = []
    for end in range(start, start + count):
        window = candles[end - WINDOW_CANDLES : end]
        started = time.perf_counter()
        for bot in bots:
            bot.signals(window)
        costs.append((time.perf_counter() - started) * 1000)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candles", type=int, default=200)
    parser.add_argument("--bots", type=int, default=10)
    args = parser.parse_args()
    csv = DATA / "BTCUSDT-1h.csv"
    candles = load_klines(csv).candles[:9000]
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        version = _model(Path(folder) / "bench.db", csv, int(candles.open_time_ms[6000]))
        params = {"model": version, "min_confidence": 0}
        start = 7000
        before = strategies.create("ml_predictor", params)
        before.memo = None
        after = strategies.create("ml_predictor", params)
        after.memo = RowMemo()
        after.signals(candles[start - 1 - WINDOW_CANDLES : start - 1])  # a bot's first candle
        # one bot, alternating so both see the same load
        full, memo = [], []
        for end in range(start, start + args.candles):
            full += _per_candle(candles, end, 1, [before])
            memo += _per_candle(candles, end, 1, [after])
        print(f"\nml_predictor, one bot, {args.candles} candles (median ms a candle):")
        print(f"  before (whole window computed every candle): {statistics.median(full):8.3f}")
        print(f"  after  (row memo: one new row, one predict): {statistics.median(memo):8.3f}")
        bots = []
        for _ in range(args.bots):
            bot = strategies.create("ml_predictor", params)
            bots.append(bot)  # all on the process's shared memo, as the engine's bots are
        shared = RowMemo()
        for bot in bots:
            bot.memo = shared
        _per_candle(candles, start + args.candles, 1, bots)
        booster = MODELS.get(version, True).booster  # as the registry loaded it
        many = _per_candle(candles, start + args.candles + 1, args.candles, bots)
        per_bot = statistics.median(many) / args.bots
        print(
            f"  after, {args.bots} bots on one market: {statistics.median(many):8.3f} ms a "
            f"candle for all of them, {per_bot:.3f} ms a bot"
        )
    # the parts
    print("\nthe parts:")
    blocks = feature_set.block_of(candles.open_time_ms, HOUR)
    for offset in (0, 128, 255):
        end = int(next(i for i in range(5000, 6000) if blocks[i] != blocks[i - 1])) + offset
        window = candles[end + 1 - WINDOW_CANDLES : end + 1]
        last = int(candles.open_time_ms[end - 1])
        cost = _median_ms(
            lambda window=window, last=last: feature_set.compute(window, HOUR, after_ms=last), 30
        )
        print(f"  feature row of one new candle, {offset:>3} into its block: {cost:8.3f} ms")
    rows = feature_set.compute(candles[:6000], HOUR)
    row = rows.values[-1:]
    one = _median_ms(lambda: training.predict(booster, row), 300)
    default = _median_ms(lambda: booster.predict(row), 300)
    print(f"  one prediction, one thread:                  {one:8.3f} ms")
    print(f"  one prediction, LightGBM's default threads:  {default:8.3f} ms")
    print(f"lightgbm {lgb.__version__}; load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
