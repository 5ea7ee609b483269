"""The honest out-of-sample report of `botdesk ml train` on the 2.7-year 1h files
(BTCUSDT, ETHUSDT, SOLUSDT by default), for two labels, beside the baselines on the same
candles; with the feature, training and per-candle prediction times and the load average.

    .venv/bin/python bench/ml_report.py [--symbols BTCUSDT,ETHUSDT] [--rounds 200]
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from botdesk.engine.klines import load_klines
from botdesk.ml import feature_set, report, training
from botdesk.ml.labels import LabelSpec

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HOUR = 3_600_000
LABELS = (
    "forward:horizon=12,threshold=0.01",
    "triple_barrier:horizon=24,take_profit=2,stop_loss=1",
)


def _predict_ms(booster, features) -> float:
    row = features[-1:]
    started = time.perf_counter()
    for _ in range(500):
        training.predict(booster, row)
    return (time.perf_counter() - started) / 500 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    settings = training.TrainSettings(rounds=args.rounds, folds=args.folds)
    print(f"load average at start: {os.getloadavg()}")
    for symbol in args.symbols.split(","):
        candles = load_klines(DATA / f"{symbol}-1h.csv").candles
        started = time.perf_counter()
        rows = feature_set.compute(candles, HOUR)
        features_s = time.perf_counter() - started
        for text in LABELS:
            spec = LabelSpec.parse(text)
            data = training.dataset(candles, rows, spec)
            started = time.perf_counter()
            out = training.walk_forward_predictions(data, spec, settings)
            walk_s = time.perf_counter() - started
            started = time.perf_counter()
            booster = training.fit(data.features, data.labels, data.names, settings)
            fit_s = time.perf_counter() - started
            c = report.classification(out.actual, out.predicted)
            signals = report.model_signals(out.predicted, out.probabilities, 0.0)
            b = report.backtests(candles, out.open_time_ms, signals, candle_ms=HOUR)
            span = b["span"]
            print(
                f"\n{symbol} 1h {text}: {c['samples']} out-of-sample predictions, "
                f"{np.datetime64(span['from_ms'], 'ms')} to {np.datetime64(span['to_ms'], 'ms')}"
            )
            per_class = "  ".join(
                f"{name} P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}"
                for name, row in c["per_class"].items()
            )
            print(
                f"  accuracy {c['accuracy']:.3f} (majority class {c['majority_accuracy']:.3f}), "
                f"macro F1 {c['macro_f1']:.3f}; {per_class}"
            )
            print(f"  confusion (actual x predicted, sell/hold/buy): {c['confusion']}")
            for name in ("model", "always_hold", "buy_and_hold", "ema_cross"):
                m = b[name]
                sharpe = "n/a" if m["sharpe"] is None else f"{m['sharpe']:.2f}"
                print(
                    f"  {name:<13} return {m['total_return']:+8.2%}  max dd "
                    f"{m['max_drawdown']:6.2%}  sharpe {sharpe:>6}  trades {m['trades']}"
                )
            print(
                f"  features {features_s:.1f} s ({len(rows)} rows), walk-forward {walk_s:.1f} s, "
                f"final fit {fit_s:.1f} s, prediction {_predict_ms(booster, data.features):.3f} ms "
                f"a candle; load average {os.getloadavg()[0]:.2f}"
            )


if __name__ == "__main__":
    main()
