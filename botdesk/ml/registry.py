"""The model registry: every trained model is a version (the `ml_model` row's id) with its
feature-set version, windows, parameters, report, feature importance and artifact.

The artifact is LightGBM's model text; its sha256 is stored beside it and checked on
every load, so a model that changed in the database after training is refused, not used.
Per symbol and timeframe at most one model is the champion (the one bots use):
`promote` makes a version champion and retires the one before; `rollback` takes the
champion off and restores the champion it replaced (the latest retired one). Both are
written to `ml_promotion` and to the audit log in the same transaction.
"""

import hashlib
import json

import lightgbm as lgb
import numpy as np
from sqlmodel import Session, col, select

from botdesk.db import audit
from botdesk.db.models import MlModel, MlPrediction, MlPromotion, ModelStatus
from botdesk.db.types import utcnow
from botdesk.ml import feature_set

_BATCH = 1000


class RegistryError(ValueError):
    """A registry action that cannot be done; the message says why."""


class Unloadable(RuntimeError):
    """A stored model that is not loaded; the message says why."""


class ArtifactCorrupt(Unloadable):
    """A stored artifact whose hash no longer matches: the model is not loaded."""


class OtherFeatureSet(Unloadable):
    """A model trained on another feature-set version than this botdesk computes: its
    columns would be read as other features, so it is not loaded."""


def sha256(artifact: bytes) -> str:
    return hashlib.sha256(artifact).hexdigest()


def artifact_of(booster: lgb.Booster) -> bytes:
    return booster.model_to_string().encode()


def load_booster(model: MlModel) -> lgb.Booster:
    """The model's LightGBM booster, after checking the artifact against its hash and its
    feature-set version against the one this botdesk computes."""
    if model.feature_set_version != feature_set.VERSION:
        raise OtherFeatureSet(
            f"model {model.id} was trained on feature set {model.feature_set_version}, and "
            f"this botdesk computes feature set {feature_set.VERSION}: train it again "
            "(`botdesk ml train`) to use it"
        )
    found = sha256(model.artifact)
    if found != model.artifact_sha256:
        raise ArtifactCorrupt(
            f"model {model.id}'s artifact has sha256 {found[:12]}, not the "
            f"{model.artifact_sha256[:12]} it was stored with: it was changed after "
            "training; train the model again"
        )
    return lgb.Booster(model_str=model.artifact.decode())


def store_model(*, session: Session, model: MlModel, predictions: dict) -> MlModel:
    """Add the model and its out-of-sample predictions (arrays: open_time_ms, fold,
    actual, predicted, probabilities (n, 3)); the artifact's hash is computed here."""
    model.artifact_sha256 = sha256(model.artifact)
    session.add(model)
    session.flush()
    probabilities = predictions["probabilities"]
    rows = [
        {
            "model_id": model.id,
            "open_time_ms": int(predictions["open_time_ms"][i]),
            "fold": int(predictions["fold"][i]),
            "actual": int(predictions["actual"][i]),
            "predicted": int(predictions["predicted"][i]),
            "p_sell": float(probabilities[i, 0]),
            "p_hold": float(probabilities[i, 1]),
            "p_buy": float(probabilities[i, 2]),
        }
        for i in range(len(predictions["open_time_ms"]))
    ]
    table = MlPrediction.__table__
    for start in range(0, len(rows), _BATCH):
        session.execute(table.insert(), rows[start : start + _BATCH])
    return model


def models(
    *, session: Session, symbol: str | None = None, timeframe: str | None = None
) -> list[MlModel]:
    """Models, newest first."""
    query = select(MlModel)
    if symbol:
        query = query.where(MlModel.symbol == symbol)
    if timeframe:
        query = query.where(MlModel.timeframe == timeframe)
    return list(session.exec(query.order_by(col(MlModel.id).desc())).all())


def get(*, session: Session, version: int) -> MlModel:
    model = session.get(MlModel, version)
    if model is None:
        raise RegistryError(f"no model version {version} (see `botdesk ml list`)")
    return model


def champion(*, session: Session, symbol: str, timeframe: str) -> MlModel | None:
    return session.exec(
        select(MlModel).where(
            MlModel.symbol == symbol,
            MlModel.timeframe == timeframe,
            MlModel.status == ModelStatus.CHAMPION,
        )
    ).first()


def predictions(*, session: Session, version: int) -> dict[str, np.ndarray]:
    rows = session.exec(
        select(MlPrediction)
        .where(MlPrediction.model_id == version)
        .order_by(col(MlPrediction.open_time_ms))
    ).all()
    return {
        "open_time_ms": np.array([r.open_time_ms for r in rows], dtype=np.int64),
        "fold": np.array([r.fold for r in rows], dtype=np.int64),
        "actual": np.array([r.actual for r in rows], dtype=np.int64),
        "predicted": np.array([r.predicted for r in rows], dtype=np.int64),
        "probabilities": np.array([[r.p_sell, r.p_hold, r.p_buy] for r in rows]).reshape(-1, 3),
    }


def _record(session, *, model, action, replaced, actor, reason, who: dict) -> None:
    session.add(
        MlPromotion(
            model_id=model.id,
            symbol=model.symbol,
            timeframe=model.timeframe,
            action=action,
            replaced_id=replaced.id if replaced else None,
            actor=actor,
            reason=reason,
            at=utcnow(),
        )
    )
    audit.record(
        session=session,
        actor=actor,
        action=f"ml.{action}",
        target=f"ml_model:{model.id}",
        reason=reason,
        details={
            "symbol": model.symbol,
            "timeframe": model.timeframe,
            "replaced": replaced.id if replaced else None,
        },
        **who,
    )


def promote(
    *, session: Session, version: int, actor: str, reason: str | None = None, **who
) -> MlModel:
    """Make `version` the champion of its symbol and timeframe; the previous champion is
    retired (a rollback restores it). `who`: the audit row's ip and user_id, if known."""
    model = get(session=session, version=version)
    load_booster(model)  # a corrupt artifact is never promoted
    if model.status == ModelStatus.CHAMPION:
        raise RegistryError(f"model {version} is already the champion of {_market(model)}")
    current = champion(session=session, symbol=model.symbol, timeframe=model.timeframe)
    if current is not None:
        current.status = ModelStatus.RETIRED
        session.add(current)
        session.flush()  # one champion at a time, even inside this transaction
    model.status = ModelStatus.CHAMPION
    session.add(model)
    _record(
        session,
        model=model,
        action="promote",
        replaced=current,
        actor=actor,
        reason=reason,
        who=who,
    )
    return model


def rollback(
    *,
    session: Session,
    symbol: str,
    timeframe: str,
    actor: str,
    reason: str | None = None,
    **who,
) -> MlModel:
    """Take the champion off (rolled back) and restore the latest retired champion;
    returns the restored model."""
    current = champion(session=session, symbol=symbol, timeframe=timeframe)
    if current is None:
        raise RegistryError(f"{symbol} {timeframe} has no champion to roll back")
    previous = session.exec(
        select(MlModel)
        .join(MlPromotion, col(MlPromotion.model_id) == col(MlModel.id))
        .where(
            MlModel.symbol == symbol,
            MlModel.timeframe == timeframe,
            MlModel.status == ModelStatus.RETIRED,
        )
        .order_by(col(MlPromotion.id).desc())
    ).first()
    if previous is None:
        raise RegistryError(
            f"model {current.id} is the first champion of {symbol} {timeframe}: there is "
            "no earlier champion to roll back to (promote another version instead)"
        )
    load_booster(previous)
    current.status = ModelStatus.ROLLED_BACK
    session.add(current)
    session.flush()
    previous.status = ModelStatus.CHAMPION
    session.add(previous)
    _record(
        session,
        model=previous,
        action="rollback",
        replaced=current,
        actor=actor,
        reason=reason,
        who=who,
    )
    return previous


def _market(model: MlModel) -> str:
    return f"{model.symbol} {model.timeframe}"


def report_of(model: MlModel) -> dict:
    return json.loads(model.report)
