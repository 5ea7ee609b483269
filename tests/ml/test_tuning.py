"""Hyperparameters by Optuna on the inner walk-forward folds only: whatever the
out-of-sample span holds, the search chooses the same parameters; the chosen ones are
stored with the model, and the CLI's --tune says what it chose."""

import json

import numpy as np
import pytest

from botdesk.ml import feature_set, registry, tuning
from botdesk.ml.labels import LabelSpec
from botdesk.ml.runs import TrainRequest, train
from botdesk.ml.training import Dataset, TrainingError, TrainSettings, dataset
from botdesk.ml.validation import walk_forward
from tests.conftest import SHARED_DATA

HOUR = 3_600_000
FROM_MS = 1_640_995_200_000  # 2022-01-01
TO_MS = 1_654_041_600_000  # 2022-06-01
SPEC = LabelSpec("forward", horizon=12, threshold=0.01)
SETTINGS = TrainSettings(folds=2, seed=11)


@pytest.fixture(scope="module")
def samples(btc_1h) -> Dataset:
    rows = feature_set.compute(btc_1h[:12000], HOUR)
    return dataset(btc_1h.between(FROM_MS, TO_MS), rows, SPEC)


def _with_future(data: Dataset, start: int, seed: int) -> Dataset:
    """The samples from `start` on get other features and labels."""
    rng = np.random.default_rng(seed)
    features, labels = data.features.copy(), data.labels.copy()
    features[start:] = rng.normal(size=features[start:].shape)
    labels[start:] = rng.choice([-1, 0, 1], size=len(labels) - start)
    return Dataset(data.open_time_ms, data.positions, features, labels, data.names)


def test_the_search_never_sees_the_out_of_sample_span(samples):
    inner = tuning.inner_samples(samples, SPEC, SETTINGS)
    outer = walk_forward(samples.positions, folds=SETTINGS.folds, horizon=12, embargo=12)
    first_test = outer[0].test[0]
    # the inner samples' labels end before the out-of-sample span's first candle
    assert samples.positions[inner[-1]] + SPEC.horizon < samples.positions[first_test]
    chosen = tuning.tune(samples, SPEC, SETTINGS, trials=4)
    # everything after the inner samples (the purge, the embargo, every test window) changed
    changed = tuning.tune(_with_future(samples, inner[-1] + 1, seed=5), SPEC, SETTINGS, trials=4)
    assert changed.summary == chosen.summary
    assert changed.settings == chosen.settings
    # a change inside the inner samples is seen (so the comparison above can fail)
    seen = tuning.tune(_with_future(samples, inner[-1] // 2, seed=5), SPEC, SETTINGS, trials=4)
    assert seen.summary["best_inner_macro_f1"] != chosen.summary["best_inner_macro_f1"]
    assert chosen.settings.tune_trials == 4
    assert chosen.summary["inner_to_ms"] == samples.open_time_ms[inner[-1]]
    assert set(chosen.summary["params"]) == {
        "rounds",
        "learning_rate",
        "num_leaves",
        "min_data_in_leaf",
        "feature_fraction",
    }
    for name, value in chosen.summary["params"].items():
        assert getattr(chosen.settings, name) == value


def test_too_few_trials_or_samples_are_refused(samples):
    with pytest.raises(TrainingError, match="tune trials must be 1 to 500"):
        tuning.tune(samples, SPEC, SETTINGS, trials=0)
    short = Dataset(
        *(part[:700] for part in (samples.open_time_ms, samples.positions)),
        samples.features[:700],
        samples.labels[:700],
        samples.names,
    )
    with pytest.raises(TrainingError, match="too little history before the out-of-sample"):
        tuning.tune(short, SPEC, TrainSettings(folds=5), trials=2)


def test_the_chosen_parameters_are_stored_with_the_model(db):
    path = SHARED_DATA / "BTCUSDT-1h.csv"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    request = TrainRequest(
        symbol="BTCUSDT",
        timeframe="1h",
        data_source=str(path),
        label=SPEC,
        from_ms=FROM_MS,
        to_ms=TO_MS,
        settings=SETTINGS,
        tune_trials=2,
    )
    result = train(request, db=db, created_by="test")
    with db.reading() as session:
        model = registry.get(session=session, version=result.model.id)
    params = json.loads(model.params)
    tuned = registry.report_of(model)["tuning"]
    assert params["tune_trials"] == 2
    for name, value in tuned["params"].items():
        assert params[name] == value
    # the search's window ends, with its label window, before the out-of-sample span
    assert tuned["inner_to_ms"] + SPEC.horizon * HOUR < model.test_from_ms
    assert TrainSettings.of(params).tune_trials == 2
