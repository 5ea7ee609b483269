"""The single-row fast path gives `training.predict`'s probabilities to the last digit, row
by row, on a model trained on real feature rows (NaN columns included), and refuses a row
of another width."""

import lightgbm as lgb
import numpy as np
import pytest

from botdesk.ml import feature_set, training
from botdesk.ml.labels import LabelSpec
from botdesk.ml.row_predictor import RowPredictor
from botdesk.ml.training import TrainSettings

HOUR = 3_600_000


@pytest.fixture(scope="module")
def trained(btc_1h):
    candles = btc_1h[:3000]
    data = training.dataset(candles, feature_set.compute(candles, HOUR), LabelSpec())
    booster = training.fit(data.features, data.labels, data.names, TrainSettings(rounds=30))
    return booster, data.features


def test_each_row_gets_the_probabilities_of_the_batch_prediction(trained):
    booster, features = trained
    assert np.isnan(features).any()  # rows with columns not known yet are predicted too
    fast = RowPredictor(booster)
    expected = training.predict(booster, features)
    for index in range(0, len(features), 7):
        got = fast.predict(features[index])
        assert np.array_equal(got, expected[index]), index
    # the booster read again from its text (as the registry loads it) predicts the same
    again = RowPredictor(lgb.Booster(model_str=booster.model_to_string()))
    assert np.array_equal(again.predict(features[-1]), expected[-1])


def test_a_row_of_another_width_is_refused(trained):
    booster, features = trained
    fast = RowPredictor(booster)
    with pytest.raises(ValueError, match=f"a feature row has {features.shape[1]} values"):
        fast.predict(features[0][:-1])
    with pytest.raises(ValueError, match="a feature row has"):
        fast.predict(features[:2])
