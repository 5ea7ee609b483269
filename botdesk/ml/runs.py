"""A training run end to end: candles, feature rows, labels, walk-forward predictions, the
report, the final model, and its version in the registry. The CLI (`botdesk ml train`)
and the retraining job share this.

Data: "stored" reads the candle table and the feature store (brought up to date first);
a kline file (or "sample") is read and its feature rows computed with the same code. The
whole history is loaded so the first rows of the window have their warm-up; labels are
cut at the window's end (`--to`), so no label of the run looks past it.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from botdesk.db.models import MlModel
from botdesk.engine.backtest.data import CANDLES, load_candles
from botdesk.engine.timeframes import timeframe_ms
from botdesk.ml import external, feature_set, feature_store, registry, report, training, tuning
from botdesk.ml.labels import LabelSpec
from botdesk.ml.training import TrainSettings

STORED = "stored"
PREDICT_REPEATS = 200


@dataclass(frozen=True)
class TrainRequest:
    symbol: str
    timeframe: str
    data_source: str  # "stored", "sample" or a kline file
    label: LabelSpec = field(default_factory=LabelSpec)
    from_ms: int | None = None
    to_ms: int | None = None
    settings: TrainSettings = field(default_factory=TrainSettings)
    tune_trials: int = 0  # > 0: Optuna chooses the parameters first (see `tuning`)
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(0)


@dataclass(frozen=True)
class TrainResult:
    model: MlModel
    report: dict


def _history(request: TrainRequest, db):
    series = external.load_all(db, request.settings.external)  # a missing one says so first
    source = CANDLES if request.data_source == STORED else request.data_source
    candles = load_candles(source, symbol=request.symbol, timeframe=request.timeframe, db=db)
    candle_ms = timeframe_ms(request.timeframe)
    started = time.perf_counter()
    if request.data_source == STORED:
        feature_store.update(db, symbol=request.symbol, timeframe=request.timeframe)
        with db.reading() as session:
            rows = feature_store.read(
                session=session, symbol=request.symbol, timeframe=request.timeframe
            )
    else:
        rows = feature_set.compute(candles, candle_ms)
    rows = external.with_external(rows, series, candle_ms)
    return candles, rows, time.perf_counter() - started


def _predict_cost_ms(booster, features: np.ndarray) -> float:
    row = features[-1:]
    started = time.perf_counter()
    for _ in range(PREDICT_REPEATS):
        training.predict(booster, row)
    return (time.perf_counter() - started) / PREDICT_REPEATS * 1000


def train(
    request: TrainRequest,
    *,
    db,
    created_by: str,
    progress: Callable[[str, float], None] | None = None,
) -> TrainResult:
    """Train, report and register (see the module docstring). Raises ValueError
    subclasses with a message for the user; nothing is stored then."""
    step = progress or (lambda _what, _fraction: None)
    settings = request.settings
    step("features", 0.0)
    candles, rows, features_s = _history(request, db)
    window = candles.between(request.from_ms, request.to_ms)
    data = training.dataset(window, rows, request.label)
    training.check_size(data, settings)
    tuned = None
    share = 0.1  # of the progress bar before the walk-forward
    if request.tune_trials:
        step("tuning", 0.1)
        started = time.perf_counter()
        tuned = tuning.tune(
            data,
            request.label,
            settings,
            request.tune_trials,
            progress=lambda done, total: step("tuning", 0.1 + 0.4 * done / total),
        )
        settings = tuned.settings
        tuned.summary["seconds"] = round(time.perf_counter() - started, 3)
        share = 0.5
    step("walk-forward", share)
    started = time.perf_counter()
    out = training.walk_forward_predictions(
        data,
        request.label,
        settings,
        progress=lambda done, total: step("walk-forward", share + (0.8 - share) * done / total),
    )
    walk_forward_s = time.perf_counter() - started
    step("final model", 0.8)
    started = time.perf_counter()
    booster = training.fit(data.features, data.labels, data.names, settings)
    final_s = time.perf_counter() - started
    step("report", 0.9)
    signals = report.model_signals(out.predicted, out.probabilities, settings.min_confidence)
    figures = {
        "symbol": request.symbol,
        "timeframe": request.timeframe,
        "label": request.label.as_dict(),
        "feature_set_version": feature_set.VERSION,
        "classification": report.classification(out.actual, out.predicted),
        "backtests": report.backtests(
            candles,
            out.open_time_ms,
            signals,
            candle_ms=timeframe_ms(request.timeframe),
            fee_rate=request.fee_rate,
            slippage_bps=request.slippage_bps,
        ),
        "folds": out.folds,
        "tuning": tuned.summary if tuned else None,
        "timings": {
            "features_s": round(features_s, 3),
            "walk_forward_s": round(walk_forward_s, 3),
            "final_fit_s": round(final_s, 3),
            "predict_ms_per_candle": round(_predict_cost_ms(booster, data.features), 4),
        },
    }
    model = MlModel(
        symbol=request.symbol,
        timeframe=request.timeframe,
        feature_set_version=feature_set.VERSION,
        data_source=_source_name(request.data_source),
        label=json.dumps(request.label.as_dict()),
        params=json.dumps(settings.as_dict()),
        train_from_ms=int(data.open_time_ms[0]),
        train_to_ms=int(data.open_time_ms[-1]),
        test_from_ms=int(out.open_time_ms[0]),
        test_to_ms=int(out.open_time_ms[-1]),
        report=json.dumps(figures),
        importance=json.dumps(training.importance(booster)),
        artifact=registry.artifact_of(booster),
        artifact_sha256="",
        created_by=created_by,
    )
    with db.writing() as session:
        feature_store.ensure_feature_set(session=session)
        registry.store_model(
            session=session,
            model=model,
            predictions={
                "open_time_ms": out.open_time_ms,
                "fold": out.fold,
                "actual": out.actual,
                "predicted": out.predicted,
                "probabilities": out.probabilities,
            },
        )
        session.flush()
        session.expunge(model)
    step("done", 1.0)
    return TrainResult(model, figures)


def _source_name(source: str) -> str:
    return source if source in (STORED, "sample") else Path(source).name[:255]
