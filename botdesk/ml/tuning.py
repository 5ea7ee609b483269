"""Hyperparameters by Optuna (the TPE sampler the research studies use), chosen on the
**inner** walk-forward folds only.

The report is computed from the predictions of the outer folds (see `validation`): its
out-of-sample span starts at the first outer test window. The search sees only what the
first outer fold trains on, the samples before that window less the purged and embargoed
ones, and cuts them into `INNER_FOLDS` walk-forward folds of their own (purged and
embargoed the same way). A trial trains on each inner fold's training part and scores
the macro F1 of its predictions on the inner test parts; the best trial's parameters then
train every outer fold and the final model. No trial ever trains on, or is scored on, a
candle of the out-of-sample span, so the report stays what the model does on data its
parameters were not chosen on (tests/ml/test_tuning.py changes that span and gets the
same choice).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import optuna

from botdesk.ml import report, training
from botdesk.ml.labels import LabelSpec
from botdesk.ml.training import Dataset, TrainingError, TrainSettings
from botdesk.ml.validation import ValidationError, walk_forward

INNER_FOLDS = 3
MAX_TRIALS = 500
optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class Tuned:
    settings: TrainSettings  # the chosen parameters, tune_trials set
    summary: dict  # for the report: the inner window, the trials, the best score


def _space(trial: optuna.Trial) -> dict:
    return {
        "rounds": trial.suggest_int("rounds", 50, 400, step=25),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 20, 200),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
    }


def inner_samples(data: Dataset, spec: LabelSpec, settings: TrainSettings) -> np.ndarray:
    """The sample indexes the search may use: the first outer fold's training samples."""
    embargo = spec.horizon if settings.embargo is None else settings.embargo
    folds = walk_forward(
        data.positions, folds=settings.folds, horizon=spec.horizon, embargo=embargo
    )
    return folds[0].train


def _subset(data: Dataset, index: np.ndarray) -> Dataset:
    return Dataset(
        data.open_time_ms[index],
        data.positions[index],
        data.features[index],
        data.labels[index],
        data.names,
    )


def tune(
    data: Dataset,
    spec: LabelSpec,
    settings: TrainSettings,
    trials: int,
    progress: Callable[[int, int], None] | None = None,
) -> Tuned:
    if not 1 <= trials <= MAX_TRIALS:
        raise TrainingError(f"tune trials must be 1 to {MAX_TRIALS}, not {trials}")
    embargo = spec.horizon if settings.embargo is None else settings.embargo
    inner = data
    try:
        inner = _subset(data, inner_samples(data, spec, settings))
        folds = walk_forward(
            inner.positions, folds=INNER_FOLDS, horizon=spec.horizon, embargo=embargo
        )
    except ValidationError as error:
        raise TrainingError(
            f"too little history before the out-of-sample span to tune on ({len(inner)} "
            f"samples): {error}"
        ) from None

    def objective(trial: optuna.Trial) -> float:
        candidate = replace(settings, **_space(trial))
        actual, predicted = [], []
        for fold in folds:
            booster = training.fit(
                inner.features[fold.train], inner.labels[fold.train], inner.names, candidate
            )
            probabilities = training.predict(booster, inner.features[fold.test])
            actual.append(inner.labels[fold.test])
            predicted.append(training.decide(probabilities))
        figures = report.classification(np.concatenate(actual), np.concatenate(predicted))
        return figures["macro_f1"]

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=settings.seed)
    )
    for number in range(trials):
        study.optimize(objective, n_trials=1)
        if progress is not None:
            progress(number + 1, trials)
    best = study.best_trial
    chosen = replace(settings, **best.params, tune_trials=trials)
    summary = {
        "trials": trials,
        "inner_folds": INNER_FOLDS,
        "inner_samples": len(inner),
        "inner_from_ms": int(inner.open_time_ms[0]),
        "inner_to_ms": int(inner.open_time_ms[-1]),
        "best_trial": best.number,
        "best_inner_macro_f1": round(float(best.value), 6),
        "params": best.params,
        "sampler": "tpe",
    }
    return Tuned(chosen, summary)
