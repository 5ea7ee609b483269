"""Training: LightGBM on the feature rows and labels, validated walk-forward.

`walk_forward_predictions` trains one model per fold (see `validation`) and predicts its
test window; those out-of-sample predictions are all the report is computed from. The
model that is stored (`fit` on every labelled sample of the window) is the one a bot uses
on candles after the window; its expected quality is the walk-forward figure.

Class weights balance the three classes (each class weighs as much in total), so the rare
BUY and SELL labels are not drowned by HOLD; LightGBM runs on one thread, deterministic.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import lightgbm as lgb
import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.ml.feature_set import FeatureRows
from botdesk.ml.labels import CLASSES, LabelSpec, label
from botdesk.ml.validation import walk_forward


class TrainingError(ValueError):
    """The training cannot run as asked; the message says why."""


@dataclass(frozen=True)
class TrainSettings:
    folds: int = 5
    embargo: int | None = None  # candles; None: the label horizon
    rounds: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    seed: int = 7
    min_confidence: float = 0.0  # a BUY is traded only with p(buy) at least this
    external: tuple[str, ...] = ()  # external series added as features (see external.py)
    tune_trials: int = 0  # > 0: the parameters above were chosen by that many Optuna trials

    def lightgbm(self) -> dict:
        return {
            "objective": "multiclass",
            "num_class": len(CLASSES),
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbosity": -1,
        }

    def as_dict(self) -> dict:
        return asdict(self) | {"external": list(self.external)}

    @classmethod
    def of(cls, params: dict) -> "TrainSettings":
        """The settings a model was trained with (its stored `params`)."""
        return cls(**(params | {"external": tuple(params.get("external", ()))}))


@dataclass(frozen=True)
class Dataset:
    """Labelled samples: candle open times and positions, features, labels (-1, 0, 1)."""

    open_time_ms: np.ndarray
    positions: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def dataset(candles: CandleFrame, rows: FeatureRows, spec: LabelSpec) -> Dataset:
    """The candles that have a feature row and a full label window inside `candles`."""
    positions = np.searchsorted(candles.open_time_ms, rows.open_time_ms)
    inside = positions < len(candles)
    inside[inside] = candles.open_time_ms[positions[inside]] == rows.open_time_ms[inside]
    labels = label(candles, spec)
    positions = positions[inside]
    keep = np.isfinite(labels[positions])
    positions = positions[keep]
    return Dataset(
        open_time_ms=candles.open_time_ms[positions],
        positions=positions,
        features=rows.values[inside][keep],
        labels=labels[positions].astype(np.int64),
        names=rows.names,
    )


def _classes(labels: np.ndarray) -> np.ndarray:
    return np.searchsorted(CLASSES, labels)  # -1, 0, 1 -> 0, 1, 2


def _weights(classes: np.ndarray) -> np.ndarray:
    counts = np.bincount(classes, minlength=len(CLASSES)).astype(np.float64)
    present = counts > 0
    per_class = np.zeros(len(CLASSES))
    per_class[present] = len(classes) / (present.sum() * counts[present])
    return per_class[classes]


def fit(features: np.ndarray, labels: np.ndarray, names, settings: TrainSettings) -> lgb.Booster:
    classes = _classes(labels)
    data = lgb.Dataset(
        features,
        label=classes,
        weight=_weights(classes),
        feature_name=list(names),
        free_raw_data=True,
    )
    return lgb.train(settings.lightgbm(), data, num_boost_round=settings.rounds)


def predict(booster: lgb.Booster, features: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities of SELL, HOLD, BUY."""
    # one thread: a single row's prediction measured 0.04-0.45 ms; with OpenMP's default
    # threads up to 5.5 ms on a loaded machine (bench/ml_predict.py, docs/ml.md)
    probabilities = booster.predict(features, num_threads=1)
    return np.asarray(probabilities, dtype=np.float64).reshape(-1, len(CLASSES))


def decide(probabilities: np.ndarray) -> np.ndarray:
    """The predicted label (-1, 0, 1): the most probable class."""
    return np.asarray(CLASSES)[np.argmax(probabilities, axis=1)]


@dataclass
class OutOfSample:
    """The walk-forward predictions, one row per test sample, in time order."""

    open_time_ms: np.ndarray
    fold: np.ndarray
    actual: np.ndarray
    predicted: np.ndarray
    probabilities: np.ndarray  # (n, 3)
    folds: list[dict] = field(default_factory=list)  # per fold: windows and sizes


def walk_forward_predictions(
    data: Dataset,
    spec: LabelSpec,
    settings: TrainSettings,
    progress: Callable[[int, int], None] | None = None,
) -> OutOfSample:
    embargo = spec.horizon if settings.embargo is None else settings.embargo
    folds = walk_forward(
        data.positions, folds=settings.folds, horizon=spec.horizon, embargo=embargo
    )
    times, numbers, probabilities, summaries = [], [], [], []
    for fold in folds:
        booster = fit(data.features[fold.train], data.labels[fold.train], data.names, settings)
        probabilities.append(predict(booster, data.features[fold.test]))
        times.append(data.open_time_ms[fold.test])
        numbers.append(np.full(len(fold.test), fold.number))
        summaries.append(
            {
                "fold": fold.number,
                "train_from_ms": int(data.open_time_ms[fold.train[0]]),
                "train_to_ms": int(data.open_time_ms[fold.train[-1]]),
                "train_samples": len(fold.train),
                "test_from_ms": int(data.open_time_ms[fold.test[0]]),
                "test_to_ms": int(data.open_time_ms[fold.test[-1]]),
                "test_samples": len(fold.test),
            }
        )
        if progress is not None:
            progress(fold.number, len(folds))
    probabilities = np.vstack(probabilities)
    test = np.concatenate([fold.test for fold in folds])
    return OutOfSample(
        open_time_ms=np.concatenate(times),
        fold=np.concatenate(numbers),
        actual=data.labels[test],
        predicted=decide(probabilities),
        probabilities=probabilities,
        folds=summaries,
    )


def importance(booster: lgb.Booster) -> dict[str, float]:
    """Each feature's total gain, largest first."""
    gains = booster.feature_importance(importance_type="gain")
    pairs = sorted(zip(booster.feature_name(), gains, strict=True), key=lambda p: -p[1])
    return {name: round(float(gain), 3) for name, gain in pairs}


def check_size(data: Dataset, settings: TrainSettings) -> None:
    if len(data) < 500:
        raise TrainingError(
            f"only {len(data)} candles have features and a label in this window; "
            "at least 500 are needed (widen --from/--to, or store more candles)"
        )
    if settings.folds < 1 or settings.folds > 20:
        raise TrainingError(f"folds must be 1 to 20, not {settings.folds}")
