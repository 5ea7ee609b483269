"""`botdesk ml`: train prints the out-of-sample report beside the baselines and stores a
version; list, show, promote and rollback; bad input gets a clear message and changes
nothing."""

import numpy as np
import pytest
from click.testing import CliRunner
from sqlmodel import select

from botdesk.cli import main
from botdesk.db import candles as candle_store
from botdesk.db.models import MlModel
from botdesk.db.session import Database
from botdesk.engine.klines import load_klines
from botdesk.settings import get_settings
from tests.conftest import SHARED_DATA

BTC_1H = SHARED_DATA / "BTCUSDT-1h.csv"


@pytest.fixture
def ml(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BOTDESK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BOTDESK_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, ["ml", *args], catch_exceptions=False)
    get_settings.cache_clear()


def _models(url):
    database = Database(url)
    try:
        with database.reading() as session:
            return [(m.id, m.status) for m in session.exec(select(MlModel)).all()]
    finally:
        database.dispose()


def _train(ml, *extra):
    return ml(
        "train",
        "--symbol",
        "btcusdt",
        "--timeframe",
        "1h",
        "--data",
        str(BTC_1H),
        "--from",
        "2022-01-01",
        "--to",
        "2022-04-01",
        "--folds",
        "2",
        "--rounds",
        "20",
        *extra,
    )


@pytest.mark.skipif(not BTC_1H.exists(), reason="../shared/data is absent")
def test_train_list_show_promote_rollback(ml, sqlite_url):
    first = _train(ml)
    assert first.exit_code == 0, first.output
    out = first.output
    assert "model 1: BTCUSDT 1h" in out
    assert "always the most frequent class" in out
    for name in ("model", "always_hold", "buy_and_hold", "ema_cross"):
        assert f"\n{name} " in out
    assert "confusion (rows actual" in out
    assert "stored as model 1 (candidate" in out
    second = _train(ml, "--label", "triple_barrier:horizon=12,take_profit=2,stop_loss=1")
    assert second.exit_code == 0, second.output
    listing = ml("list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[1].split()[0] == "2" and lines[2].split()[0] == "1"
    assert "triple_barrier" in lines[1]
    shown = ml("show", "1")
    assert "most important features" in shown.output
    assert ml("promote", "1", "--reason", "first").output.strip() == (
        "model 1 is now the champion of BTCUSDT 1h"
    )
    assert ml("promote", "2").exit_code == 0
    assert _models(sqlite_url) == [(1, "retired"), (2, "champion")]
    rolled = ml("rollback", "--symbol", "BTCUSDT", "--timeframe", "1h", "--reason", "worse")
    assert rolled.output.strip() == "rolled back: model 1 is the champion of BTCUSDT 1h"
    again = ml("rollback", "--symbol", "BTCUSDT", "--timeframe", "1h")
    assert again.exit_code == 1
    assert "no earlier champion" in again.output
    assert _models(sqlite_url) == [(1, "champion"), (2, "rolled_back")]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--label", "forward:horizon=0"], "horizon must be 1 to 1000"),
        (["--label", "guess:horizon=3"], "unknown label kind"),
        (["--from", "yesterday"], "is not a date"),
        (["--folds", "0"], "0 is not in the range 1<=x<=20"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_store_nothing(ml, sqlite_url, args, message):
    result = ml("train", "--symbol", "BTCUSDT", "--timeframe", "1h", "--data", str(BTC_1H), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert _models(sqlite_url) == []


def test_training_on_missing_data_says_what_is_missing(ml, sqlite_url):
    result = ml("train", "--symbol", "BTCUSDT", "--timeframe", "1h")
    assert result.exit_code == 1
    assert "no stored candles of BTCUSDT" in result.output
    features = ml("features", "--symbol", "BTCUSDT", "--timeframe", "1h")
    assert features.exit_code == 1
    assert "no stored candles of BTCUSDT" in features.output
    assert ml("list").output.strip() == "no models yet (`botdesk ml train`)"
    assert ml("promote", "7").exit_code == 1
    assert _models(sqlite_url) == []


@pytest.mark.skipif(not BTC_1H.exists(), reason="../shared/data is absent")
def test_train_with_tune_says_what_it_chose_and_stores_it(ml, sqlite_url):
    result = ml(
        "train",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--data",
        str(BTC_1H),
        "--from",
        "2021-10-01",
        "--to",
        "2022-04-01",
        "--folds",
        "2",
        "--tune",
        "2",
    )
    assert result.exit_code == 0, result.output
    assert "parameters by 2 Optuna trials on 3 inner folds" in result.output
    assert "before the out-of-sample span" in result.output
    shown = ml("show", "1")
    assert "parameters by 2 Optuna trials" in shown.output
    refused = ml("train", "--symbol", "BTCUSDT", "--timeframe", "1h", "--tune", "501")
    assert refused.exit_code == 2 and "501 is not in the range 0<=x<=500" in refused.output


@pytest.mark.skipif(not BTC_1H.exists(), reason="../shared/data is absent")
def test_retrain_with_tune_chooses_the_challengers_parameters_by_optuna(ml, sqlite_url):
    candles = load_klines(BTC_1H).candles
    start = int(np.searchsorted(candles.open_time_ms, 1_640_995_200_000))  # 2022-01-01
    database = Database(sqlite_url)
    try:
        with database.writing() as session:
            candle_store.upsert(
                session=session,
                candles=[
                    {"symbol": "BTCUSDT", "timeframe": "1h", **candles.row(i)}
                    for i in range(start - 3600, start + 3600)  # 5 folds, tuned: 10 months
                ],
            )
    finally:
        database.dispose()
    market = ("--symbol", "BTCUSDT", "--timeframe", "1h", "--holdout", "600")
    refused = ml("retrain", *market, "--tune", "501")
    assert refused.exit_code == 2 and "501 is not in the range 0<=x<=500" in refused.output
    assert _models(sqlite_url) == []
    result = ml("retrain", *market, "--tune", "2")
    assert result.exit_code == 0, result.output
    assert "model 1 (parameters by 2 Optuna trials)" in result.output
    assert "promoted: there was no champion" in result.output
    shown = ml("show", "1")
    assert "parameters by 2 Optuna trials on 3 inner folds" in shown.output
