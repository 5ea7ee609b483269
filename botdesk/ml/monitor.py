"""Watching a champion on candles it never saw, and scoring models on a common holdout.

`health` compares the champion's hit rate (accuracy) on the stored candles after its
training window (after its last label window ended) with the accuracy its walk-forward
validation reported. It is **degraded** when at least `min_samples` such candles have a
label and the live hit rate is below the validation figure by more than `margin`. `check`
writes a `model_degraded` risk event for a degraded champion (once a day per model), which
the Risk page shows, and a `model.degraded` notification to the channels that subscribe to
it, so an admin can roll it back.
"""

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import numpy as np
from sqlmodel import col, select

from botdesk.db import notification_events, notifications
from botdesk.db.models import MlModel, RiskEvent
from botdesk.db.types import utcnow
from botdesk.engine.backtest.data import CANDLES, load_candles
from botdesk.engine.frames import CandleFrame
from botdesk.engine.timeframes import timeframe_ms
from botdesk.ml import external, feature_set, registry, report, training
from botdesk.ml.feature_set import FeatureRows
from botdesk.ml.labels import LabelSpec

DEGRADED = "model_degraded"


@dataclass(frozen=True)
class Health:
    version: int
    symbol: str
    timeframe: str
    since_ms: int  # candles opened after this are unseen by the model
    samples: int
    hit_rate: float | None
    validation: float
    margin: float
    degraded: bool

    def describe(self) -> str:
        if self.hit_rate is None:
            return (
                f"model {self.version} ({self.symbol} {self.timeframe}): no labelled candle "
                f"after its window yet; validation accuracy {self.validation:.3f}"
            )
        verdict = "DEGRADED" if self.degraded else "ok"
        return (
            f"model {self.version} ({self.symbol} {self.timeframe}): hit rate "
            f"{self.hit_rate:.3f} on {self.samples} candles after its window, validation "
            f"{self.validation:.3f}, margin {self.margin:.3f}: {verdict}"
        )


def label_spec(model: MlModel) -> LabelSpec:
    return LabelSpec(**json.loads(model.label))


def unseen_after_ms(model: MlModel) -> int:
    """The open time after which no candle was a sample or inside a label window."""
    return model.train_to_ms + label_spec(model).horizon * timeframe_ms(model.timeframe)


def score_after(
    booster, spec: LabelSpec, candles: CandleFrame, rows: FeatureRows, after_ms: int
) -> tuple[dict, np.ndarray, np.ndarray]:
    """(classification figures, actual, predicted) of the booster on the labelled
    candles opened after `after_ms`."""
    data = training.dataset(candles, rows, spec)
    keep = data.open_time_ms > after_ms
    actual = data.labels[keep]
    if not len(actual):
        return report.classification(actual, actual), actual, actual
    predicted = training.decide(training.predict(booster, data.features[keep]))
    return report.classification(actual, predicted), actual, predicted


def external_names(model: MlModel) -> tuple[str, ...]:
    return training.TrainSettings.of(json.loads(model.params)).external


def health(
    model: MlModel,
    candles: CandleFrame,
    rows: FeatureRows | None = None,
    *,
    margin: float,
    min_samples: int,
    series: dict | None = None,
) -> Health:
    """`series`: the model's external series (`external.load_all`), if it uses any."""
    booster = registry.load_booster(model)
    if rows is None:
        candle_ms = timeframe_ms(model.timeframe)
        rows = external.with_external(
            feature_set.compute(candles, candle_ms), series or {}, candle_ms
        )
    since = unseen_after_ms(model)
    figures, actual, _ = score_after(booster, label_spec(model), candles, rows, since)
    validation = registry.report_of(model)["classification"]["accuracy"]
    hit_rate = figures["accuracy"] if len(actual) else None
    degraded = hit_rate is not None and len(actual) >= min_samples
    degraded = degraded and hit_rate < validation - margin
    return Health(
        version=model.id,
        symbol=model.symbol,
        timeframe=model.timeframe,
        since_ms=since,
        samples=len(actual),
        hit_rate=hit_rate,
        validation=validation,
        margin=margin,
        degraded=bool(degraded),
    )


def check(
    db, *, symbol: str, timeframe: str, margin: float = 0.05, min_samples: int = 100
) -> Health | None:
    """The champion's health on the stored candles; a risk event when it degraded (at
    most one a day per model). None without a champion."""
    with db.reading() as session:
        model = registry.champion(session=session, symbol=symbol, timeframe=timeframe)
    if model is None:
        return None
    candles = load_candles(CANDLES, symbol=symbol, timeframe=timeframe, db=db)
    series = external.load_all(db, external_names(model))
    result = health(model, candles, margin=margin, min_samples=min_samples, series=series)
    if result.degraded:
        _record(db, result)
    return result


def _record(db, result: Health) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    marker = f'"model": {result.version},'
    with db.writing() as session:
        already = session.exec(
            select(RiskEvent.id).where(
                RiskEvent.kind == DEGRADED,
                col(RiskEvent.at) >= today,
                col(RiskEvent.details).contains(marker),
            )
        ).first()
        if already is not None:
            return
        event = RiskEvent(
            at=utcnow(),
            kind=DEGRADED,
            rule="ml_hit_rate",
            severity="warning",
            message=result.describe() + " (roll it back on the Models page)",
            details=json.dumps({"model": result.version, **asdict(result)}),
        )
        session.add(event)
        # the channels hear of it in the same transaction (the watchdog delivers)
        notifications.emit(
            session, notification_events.model_degraded(event=event, version=result.version)
        )
