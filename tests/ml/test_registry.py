"""The model registry on both databases: versions, one champion per market, promote and
rollback audited, an artifact changed after training refused."""

import json

import numpy as np
import pytest
from sqlmodel import select

from botdesk.db.models import AuditLog, MlFeatureSet, MlModel, MlPromotion, ModelStatus
from botdesk.ml import feature_set, feature_store, registry, training
from botdesk.ml.registry import ArtifactCorrupt, OtherFeatureSet, RegistryError


def _booster(seed: int):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(300, 4))
    labels = np.sign(features[:, 0]).astype(np.int64)
    return training.fit(
        features, labels, ("a", "b", "c", "d"), training.TrainSettings(rounds=10, seed=seed)
    )


def _store(db, seed: int, symbol: str = "BTCUSDT", feature_set_version: int = 1) -> int:
    booster = _booster(seed)
    with db.writing() as session:
        feature_store.ensure_feature_set(session=session)
        model = MlModel(
            symbol=symbol,
            timeframe="1h",
            feature_set_version=feature_set_version,
            data_source="test",
            label="{}",
            params="{}",
            train_from_ms=0,
            train_to_ms=1,
            report="{}",
            importance=json.dumps(training.importance(booster)),
            artifact=registry.artifact_of(booster),
            artifact_sha256="",
            created_by="test",
        )
        probabilities = np.array([[0.2, 0.5, 0.3]])
        registry.store_model(
            session=session,
            model=model,
            predictions={
                "open_time_ms": np.array([5]),
                "fold": np.array([1]),
                "actual": np.array([0]),
                "predicted": np.array([0]),
                "probabilities": probabilities,
            },
        )
        return model.id


def _statuses(db) -> dict[int, str]:
    with db.reading() as session:
        return {m.id: m.status for m in session.exec(select(MlModel)).all()}


def test_promote_and_rollback_keep_one_champion_and_are_audited(db):
    first, second, third = _store(db, 1), _store(db, 2), _store(db, 3)
    other = _store(db, 4, symbol="ETHUSDT")
    with db.writing() as session:
        registry.promote(session=session, version=first, actor="alice", reason="first")
        registry.promote(session=session, version=other, actor="alice")
    with db.writing() as session:
        registry.promote(session=session, version=second, actor="alice")
    with db.writing() as session:
        registry.promote(session=session, version=third, actor="bob", reason="better")
    assert _statuses(db) == {
        first: ModelStatus.RETIRED,
        second: ModelStatus.RETIRED,
        third: ModelStatus.CHAMPION,
        other: ModelStatus.CHAMPION,
    }
    with db.writing() as session:
        restored = registry.rollback(
            session=session, symbol="BTCUSDT", timeframe="1h", actor="bob", reason="degraded"
        )
    assert restored.id == second
    with db.writing() as session:
        registry.rollback(session=session, symbol="BTCUSDT", timeframe="1h", actor="bob")
    assert _statuses(db) == {
        first: ModelStatus.CHAMPION,
        second: ModelStatus.ROLLED_BACK,
        third: ModelStatus.ROLLED_BACK,
        other: ModelStatus.CHAMPION,
    }
    with pytest.raises(RegistryError, match="no earlier champion"), db.writing() as session:
        registry.rollback(session=session, symbol="BTCUSDT", timeframe="1h", actor="bob")
    assert _statuses(db)[first] == ModelStatus.CHAMPION
    with db.reading() as session:
        actions = [
            (a.actor, a.action, a.target)
            for a in session.exec(select(AuditLog).order_by(AuditLog.id)).all()
        ]
        promotions = session.exec(select(MlPromotion).order_by(MlPromotion.id)).all()
    assert actions == [
        ("alice", "ml.promote", f"ml_model:{first}"),
        ("alice", "ml.promote", f"ml_model:{other}"),
        ("alice", "ml.promote", f"ml_model:{second}"),
        ("bob", "ml.promote", f"ml_model:{third}"),
        ("bob", "ml.rollback", f"ml_model:{second}"),
        ("bob", "ml.rollback", f"ml_model:{first}"),
    ]
    replaced = [(p.model_id, p.replaced_id) for p in promotions]
    assert replaced[-2:] == [(second, third), (first, second)]
    with pytest.raises(RegistryError, match="already the champion"), db.writing() as session:
        registry.promote(session=session, version=first, actor="bob")
    with pytest.raises(RegistryError, match="no model version 999"), db.writing() as session:
        registry.promote(session=session, version=999, actor="bob")


def test_an_artifact_changed_after_training_is_refused(db):
    version = _store(db, 1)
    with db.reading() as session:
        model = registry.get(session=session, version=version)
        booster = registry.load_booster(model)
    row = np.zeros((1, 4))
    assert training.predict(booster, row).shape == (1, 3)
    with db.writing() as session:
        model = registry.get(session=session, version=version)
        model.artifact = model.artifact.replace(b"learning_rate", b"learning_rat3", 1)
    with db.reading() as session:
        model = registry.get(session=session, version=version)
        with pytest.raises(ArtifactCorrupt, match="changed after training"):
            registry.load_booster(model)
    with pytest.raises(ArtifactCorrupt), db.writing() as session:
        registry.promote(session=session, version=version, actor="alice")
    assert _statuses(db)[version] == ModelStatus.CANDIDATE


def test_a_model_of_another_feature_set_is_neither_loaded_nor_promoted(db):
    """Its columns would be read as other features: a model stored by a botdesk that
    computes another feature-set version is refused with the reason."""
    other = feature_set.VERSION + 1
    with db.writing() as session:
        session.add(MlFeatureSet(version=other, fingerprint="f" * 64, names="[]"))
    version = _store(db, 3, symbol="XRPUSDT", feature_set_version=other)
    with db.reading() as session:
        model = registry.get(session=session, version=version)
        with pytest.raises(OtherFeatureSet, match=f"trained on feature set {other}"):
            registry.load_booster(model)
    with pytest.raises(OtherFeatureSet), db.writing() as session:
        registry.promote(session=session, version=version, actor="alice")
    assert _statuses(db)[version] == ModelStatus.CANDIDATE


def test_predictions_are_kept_with_their_model(db):
    version = _store(db, 1)
    with db.reading() as session:
        stored = registry.predictions(session=session, version=version)
    assert stored["open_time_ms"].tolist() == [5]
    assert stored["probabilities"].tolist() == [[0.2, 0.5, 0.3]]
