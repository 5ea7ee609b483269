"""The per-candle cost of the ML path on BTCUSDT 1h: the feature row of one new candle
(the store's incremental update), the feature set over the 600-candle live window (what
`ml_predictor` computes on every candle), and one LightGBM prediction with one thread
beside LightGBM's default threads; medians of repeated runs, with the load average.

    .venv/bin/python bench/ml_predict.py [--repeats 30]
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import lightgbm as lgb

from botdesk.engine.klines import load_klines
from botdesk.engine.market import WINDOW_CANDLES
from botdesk.ml import feature_set, training
from botdesk.ml.labels import LabelSpec

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HOUR = 3_600_000


def _median_ms(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    candles = load_klines(DATA / "BTCUSDT-1h.csv").candles[:6000]
    print(f"load average at start: {os.getloadavg()}")
    rows = feature_set.compute(candles, HOUR)
    spec = LabelSpec()
    data = training.dataset(candles, rows, spec)
    trained = training.fit(data.features, data.labels, data.names, training.TrainSettings())
    booster = lgb.Booster(model_str=trained.model_to_string())  # as the registry loads it
    row = data.features[-1:]
    # candles at the start, the middle and the end of a block: the block is computed again
    for offset in (0, 128, 255):
        blocks = feature_set.block_of(candles.open_time_ms, HOUR)
        end = int(next(i for i in range(5000, 6000) if blocks[i] != blocks[i - 1])) + offset
        last = int(candles.open_time_ms[end - 1])
        cost = _median_ms(
            lambda end=end, last=last: feature_set.compute(candles[: end + 1], HOUR, after_ms=last),
            args.repeats,
        )
        print(f"feature row of one new candle, {offset:>3} candles into its block: {cost:8.2f} ms")
    window = candles[-WINDOW_CANDLES:]
    cost = _median_ms(lambda: feature_set.compute(window, HOUR), args.repeats)
    print(f"feature set over the {WINDOW_CANDLES}-candle live window:        {cost:8.2f} ms")
    one = _median_ms(lambda: training.predict(booster, row), args.repeats * 10)
    default = _median_ms(lambda: booster.predict(row), args.repeats * 10)
    print(f"one prediction, one thread:                          {one:8.3f} ms")
    print(f"one prediction, LightGBM's default threads:          {default:8.3f} ms")
    print(f"lightgbm {lgb.__version__}; load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
