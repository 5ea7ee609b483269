"""A model trained on BTCUSDT 1h up to a date: its report is what an independent
recomputation from the stored predictions gives, every prediction is out of sample, and
no label of the run looks past the window."""

from collections import Counter
from decimal import Decimal

import numpy as np
import pytest

from botdesk.ml import registry, report
from botdesk.ml.labels import LabelSpec
from botdesk.ml.runs import TrainRequest, train
from botdesk.ml.training import TrainingError, TrainSettings
from tests.conftest import SHARED_DATA

HOUR = 3_600_000
FROM_MS = 1_640_995_200_000  # 2022-01-01
TO_MS = 1_654_041_600_000  # 2022-06-01


@pytest.fixture(scope="module")
def btc_file():
    path = SHARED_DATA / "BTCUSDT-1h.csv"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    return str(path)


def _request(btc_file, **changes) -> TrainRequest:
    values = {
        "symbol": "BTCUSDT",
        "timeframe": "1h",
        "data_source": btc_file,
        "label": LabelSpec("triple_barrier", horizon=12, take_profit=2.0, stop_loss=1.0),
        "from_ms": FROM_MS,
        "to_ms": TO_MS,
        "settings": TrainSettings(folds=3, rounds=30),
    }
    return TrainRequest(**(values | changes))


def _recompute(actual, predicted) -> dict:
    """Precision, recall, F1 and the confusion matrix, counted one prediction at a time."""
    pairs = Counter(zip(actual.tolist(), predicted.tolist(), strict=True))
    classes = (-1, 0, 1)
    confusion = [[pairs[(a, p)] for p in classes] for a in classes]
    per_class = {}
    for name, k in zip(("sell", "hold", "buy"), classes, strict=True):
        right = pairs[(k, k)]
        called = sum(n for (a, p), n in pairs.items() if p == k)
        actual_count = sum(n for (a, p), n in pairs.items() if a == k)
        precision = right / called if called else 0.0
        recall = right / actual_count if actual_count else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = (precision, recall, f1, actual_count)
    right = sum(pairs[(k, k)] for k in classes)
    return {"confusion": confusion, "per_class": per_class, "accuracy": right / len(actual)}


def test_the_report_is_what_the_stored_predictions_give(db, btc_file):
    result = train(_request(btc_file), db=db, created_by="test")
    figures = result.report
    with db.reading() as session:
        model = registry.get(session=session, version=result.model.id)
        stored = registry.predictions(session=session, version=model.id)
        stored_report = registry.report_of(model)
    assert stored_report == figures
    again = _recompute(stored["actual"], stored["predicted"])
    c = figures["classification"]
    assert c["samples"] == len(stored["actual"]) > 1000
    assert c["confusion"] == again["confusion"]
    assert c["accuracy"] == pytest.approx(again["accuracy"], abs=1e-12)
    for name, (precision, recall, f1, support) in again["per_class"].items():
        row = c["per_class"][name]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx(
            (precision, recall, f1), abs=1e-12
        )
        assert row["support"] == support
    # the predicted class is the most probable one, as stored
    assert np.array_equal(
        stored["predicted"], np.array([-1, 0, 1])[stored["probabilities"].argmax(axis=1)]
    )
    # the model's backtest is the one its stored predictions trade
    from botdesk.engine.backtest.data import load_candles

    candles = load_candles(btc_file, symbol="BTCUSDT", timeframe="1h")
    signals = report.model_signals(stored["predicted"], stored["probabilities"], 0.0)
    again = report.backtests(candles, stored["open_time_ms"], signals, candle_ms=HOUR)
    assert again["model"] == figures["backtests"]["model"]
    for name in ("always_hold", "buy_and_hold", "ema_cross"):
        assert again[name] == figures["backtests"][name]
    assert figures["backtests"]["always_hold"]["total_return"] == 0
    assert figures["backtests"]["buy_and_hold"]["trades"] == 1


def test_every_prediction_is_out_of_sample_and_no_label_looks_past_the_window(db, btc_file):
    result = train(_request(btc_file), db=db, created_by="test")
    model, figures = result.model, result.report
    horizon = figures["label"]["horizon"]
    assert model.train_from_ms >= FROM_MS
    assert model.train_to_ms + horizon * HOUR <= TO_MS  # its last label ends by --to
    with db.reading() as session:
        stored = registry.predictions(session=session, version=model.id)
    for fold in figures["folds"]:
        mine = stored["open_time_ms"][stored["fold"] == fold["fold"]]
        assert mine.min() == fold["test_from_ms"] and mine.max() == fold["test_to_ms"]
        # what the fold learnt ended (label window and embargo) before its test began
        assert fold["train_to_ms"] + 2 * horizon * HOUR < fold["test_from_ms"]
    assert stored["open_time_ms"].max() <= TO_MS


def test_too_short_a_window_is_refused_and_nothing_is_stored(db, btc_file):
    request = _request(btc_file, to_ms=FROM_MS + 300 * HOUR)
    with pytest.raises(TrainingError, match="at least 500 are needed"):
        train(request, db=db, created_by="test")
    with db.reading() as session:
        assert registry.models(session=session) == []


def test_costs_reach_the_backtests(db, btc_file):
    result = train(_request(btc_file, fee_rate=Decimal("0.002")), db=db, created_by="test")
    b = result.report["backtests"]
    assert b["costs"]["fee_rate"] == "0.002"
    assert Decimal(b["buy_and_hold"]["fees_paid"]) > 0
