"""Continuous learning on stored candles: the champion's live hit rate against its
validation figure (a risk event once when it degraded), and a challenger promoted only
when it beats the champion on the holdout by the margin."""

import json

import numpy as np
import pytest
from sqlmodel import select

from botdesk.db import candles as candle_store
from botdesk.db.models import MlFeatureSet, MlModel, Notification, RiskEvent
from botdesk.ml import feature_set, monitor, registry, retraining
from botdesk.ml.labels import LabelSpec
from botdesk.ml.training import TrainSettings
from tests.ml.conftest import shared_candles

SMALL = TrainSettings(folds=2, rounds=20)
LABEL = LabelSpec("forward", horizon=12, threshold=0.01)


@pytest.fixture
def stored(db):
    """BTCUSDT 1h from 2022-01-01, 3,600 candles, in the candle table."""
    frame = shared_candles("BTCUSDT-1h.csv")
    start = int(np.searchsorted(frame.open_time_ms, 1_640_995_200_000))
    with db.writing() as session:
        candle_store.upsert(
            session=session,
            candles=[
                {"symbol": "BTCUSDT", "timeframe": "1h", **frame.row(i)}
                for i in range(start, start + 3600)
            ],
        )
    return frame[start : start + 3600]


def _statuses(db):
    with db.reading() as session:
        return {m.id: m.status for m in session.exec(select(MlModel)).all()}


def test_a_challenger_is_promoted_only_when_it_beats_the_champion(db, stored):
    first = retraining.retrain(
        db, symbol="BTCUSDT", timeframe="1h", holdout=600, label=LABEL, settings=SMALL
    )
    assert first.champion is None and first.promoted
    assert first.holdout_samples == 600 - LABEL.horizon
    assert _statuses(db) == {first.challenger: "champion"}
    with db.reading() as session:
        model = registry.get(session=session, version=first.challenger)
    assert registry.report_of(model)["tuning"] is None  # no --tune: the fixed parameters
    assert "Optuna" not in first.describe()
    # the challenger learnt nothing from the holdout, labels included
    assert model.train_to_ms + LABEL.horizon * 3_600_000 < int(stored.open_time_ms[-600])
    # the same data again cannot beat the champion by a whole point of F1
    second = retraining.retrain(
        db, symbol="BTCUSDT", timeframe="1h", holdout=600, margin=1.0, settings=SMALL
    )
    assert not second.promoted and second.champion == first.challenger
    assert second.champion_f1 == pytest.approx(first.challenger_f1)
    assert _statuses(db) == {first.challenger: "champion", second.challenger: "candidate"}
    assert "not promoted; the champion stays" in second.describe()


def test_a_champion_of_another_feature_set_gives_way_to_the_challenger(db, stored):
    """A champion this botdesk cannot run (its feature set is not the one computed here)
    cannot be scored: the challenger is promoted whatever the margin, and says why."""
    first = retraining.retrain(
        db, symbol="BTCUSDT", timeframe="1h", holdout=600, label=LABEL, settings=SMALL
    )
    other = feature_set.VERSION + 1
    with db.writing() as session:
        session.add(MlFeatureSet(version=other, fingerprint="f" * 64, names="[]"))
        session.flush()
        session.get(MlModel, first.challenger).feature_set_version = other
    second = retraining.retrain(
        db, symbol="BTCUSDT", timeframe="1h", holdout=600, margin=1.0, settings=SMALL
    )
    assert second.promoted and second.champion == first.challenger
    assert second.champion_f1 is None
    assert "was trained on another feature set" in second.describe()
    assert _statuses(db) == {first.challenger: "retired", second.challenger: "champion"}


def test_the_monitor_flags_a_champion_below_its_validation_figure_once(db, stored):
    outcome = retraining.retrain(
        db, symbol="BTCUSDT", timeframe="1h", holdout=600, label=LABEL, settings=SMALL
    )
    healthy = monitor.check(db, symbol="BTCUSDT", timeframe="1h", margin=1.0, min_samples=50)
    assert healthy.version == outcome.challenger
    assert healthy.samples == outcome.holdout_samples
    assert 0 <= healthy.hit_rate <= 1 and not healthy.degraded
    # the hit rate is the share of right answers on the unseen candles, counted again
    with db.reading() as session:
        model = registry.get(session=session, version=outcome.challenger)
    from botdesk.ml import feature_set, training

    rows = feature_set.compute(stored, 3_600_000)
    data = training.dataset(stored, rows, LABEL)
    unseen = data.open_time_ms > model.train_to_ms + 12 * 3_600_000
    predicted = training.decide(
        training.predict(registry.load_booster(model), data.features[unseen])
    )
    assert healthy.hit_rate == pytest.approx(float((predicted == data.labels[unseen]).mean()))
    # a validation figure the live hit rate cannot reach: degraded, one risk event a day
    with db.writing() as session:
        model = registry.get(session=session, version=outcome.challenger)
        report = json.loads(model.report)
        report["classification"]["accuracy"] = 0.99
        model.report = json.dumps(report)
    for _ in range(2):
        flagged = monitor.check(db, symbol="BTCUSDT", timeframe="1h", margin=0.05)
        assert flagged.degraded
    with db.reading() as session:
        events = session.exec(select(RiskEvent).where(RiskEvent.kind == "model_degraded")).all()
    assert len(events) == 1
    assert f"model {outcome.challenger} (BTCUSDT 1h)" in events[0].message
    assert "DEGRADED" in events[0].message
    # and the channels are told, once, in the same transaction as the risk event
    with db.reading() as session:
        told = session.exec(select(Notification).where(Notification.kind == "model.degraded"))
        told = told.all()
    assert len(told) == 1
    assert told[0].severity == "warning"
    assert f"ML model {outcome.challenger} degraded" in told[0].title


def test_retraining_needs_enough_stored_candles(db):
    with pytest.raises(ValueError, match="no stored candles"):
        retraining.retrain(db, symbol="BTCUSDT", timeframe="1h")
    assert monitor.check(db, symbol="BTCUSDT", timeframe="1h") is None


def test_retraining_with_tune_chooses_the_challengers_parameters_by_optuna(db, stored):
    earlier = shared_candles("BTCUSDT-1h.csv")
    earlier = earlier[earlier.open_time_ms < int(stored.open_time_ms[0])][-600:]
    with db.writing() as session:  # the search needs history of its own before the folds
        candle_store.upsert(
            session=session,
            candles=[
                {"symbol": "BTCUSDT", "timeframe": "1h", **earlier.row(i)}
                for i in range(len(earlier))
            ],
        )
    outcome = retraining.retrain(
        db,
        symbol="BTCUSDT",
        timeframe="1h",
        holdout=600,
        label=LABEL,
        settings=SMALL,
        tune_trials=2,
    )
    with db.reading() as session:
        model = registry.get(session=session, version=outcome.challenger)
    params = json.loads(model.params)
    tuned = registry.report_of(model)["tuning"]
    assert params["tune_trials"] == 2 and tuned["trials"] == 2
    for name, value in tuned["params"].items():
        assert params[name] == value
    # the search, like the challenger, saw nothing of the holdout nor of its own report's span
    assert tuned["inner_to_ms"] + LABEL.horizon * 3_600_000 < model.test_from_ms
    assert model.train_to_ms < int(stored.open_time_ms[-600])
    assert "(parameters by 2 Optuna trials)" in outcome.describe()
