"""ml_predictor: the same signals in a backtest and candle by candle on the live window,
causal, following the champion through promotions and rollbacks."""

from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import delete, update

from botdesk.db.models import MlModel, MlPromotion, ModelStatus
from botdesk.db.session import Database
from botdesk.engine.backtest.data import load_candles
from botdesk.engine.backtest.runs import BacktestRequest, run_backtest
from botdesk.engine.frames import BUY, SELL
from botdesk.engine.market import WINDOW_CANDLES
from botdesk.engine.strategies import registry as strategies
from botdesk.engine.strategies.safe import StrategyError, evaluate
from botdesk.ml import feature_set, registry
from botdesk.ml.carried_rows import CarriedRows
from botdesk.ml.labels import LabelSpec
from botdesk.ml.predictor import MODELS
from botdesk.ml.row_memo import RowMemo
from botdesk.ml.row_predictor import RowPredictor
from botdesk.ml.runs import TrainRequest, train
from botdesk.ml.structure_reader import StructureReader
from botdesk.ml.training import TrainSettings
from botdesk.settings import get_settings
from tests.conftest import SHARED_DATA, make_env

BTC_1H = SHARED_DATA / "BTCUSDT-1h.csv"
FROM_MS, TO_MS = 1_640_995_200_000, 1_648_771_200_000  # 2022-01-01 .. 2022-04-01
AFTER_MS = 1_651_363_200_000  # 2022-05-01: a month the models never saw
START_MS = 1_646_092_800_000  # 2022-03-01: enough warm-up for the window after --to


@pytest.fixture(scope="module")
def trained(module_database_url, tmp_path_factory):
    """Two models trained once for the module (on its own database)."""
    if not BTC_1H.exists():
        pytest.skip("../shared/data is absent")
    env = make_env(module_database_url, tmp_path_factory.mktemp("predictor"))
    db = Database(module_database_url)
    made = []
    for label in ("forward:horizon=12,threshold=0.01", "triple_barrier:horizon=12"):
        request = TrainRequest(
            symbol="BTCUSDT",
            timeframe="1h",
            data_source=str(BTC_1H),
            label=LabelSpec.parse(label),
            from_ms=FROM_MS,
            to_ms=TO_MS,
            settings=TrainSettings(folds=2, rounds=20),
        )
        made.append(train(request, db=db, created_by="test").model.id)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            if key.startswith("BOTDESK_"):
                patch.setenv(key, value)
        get_settings.cache_clear()
        yield db, made
    get_settings.cache_clear()
    db.dispose()


@pytest.fixture
def db(trained):
    return trained[0]


@pytest.fixture
def models(trained):
    """The two models, neither promoted, no promotion history."""
    db, made = trained
    with db.writing() as session:
        session.execute(delete(MlPromotion))
        session.execute(update(MlModel).values(status=ModelStatus.CANDIDATE))
    MODELS.clear()
    yield made
    MODELS.clear()


def _promote(db, version):
    with db.writing() as session:
        registry.promote(session=session, version=version, actor="test")


def _candles():
    return load_candles(
        str(BTC_1H), symbol="BTCUSDT", timeframe="1h", from_ms=START_MS, to_ms=AFTER_MS
    )


def test_live_windows_give_the_backtests_signals(db, models):
    _promote(db, models[0])
    candles = _candles()
    strategy = strategies.create("ml_predictor", {"model": models[0], "min_confidence": 0})
    whole = evaluate(strategy, candles)
    assert (whole.side == BUY).sum() > 5 and (whole.side == SELL).sum() > 5
    assert set(whole.reason[whole.side != 0]) <= {
        f"model {models[0]} predicts buy",
        f"model {models[0]} predicts sell",
    }
    for index in range(len(candles) - 12, len(candles)):
        window = candles[index - WINDOW_CANDLES + 1 : index + 1]
        live = evaluate(strategy, window)
        assert live.side[-1] == whole.side[index]
        assert live.confidence[-1] == whole.confidence[index]
    report = run_backtest(
        BacktestRequest(
            strategy="ml_predictor",
            params={"model": models[0], "min_confidence": 0},
            symbol="BTCUSDT",
            timeframe="1h",
            data_source=str(BTC_1H),
            from_ms=START_MS,
            to_ms=AFTER_MS,
            fee_rate=Decimal("0.001"),
        )
    )
    assert report.metrics.trades > 0


def test_candle_by_candle_the_memo_gives_the_full_computations_signals(db, models):
    """A bot on the live window reads its rows from the memo (one new row a candle); its
    signals are those of the full computation of every window and of the backtest."""
    _promote(db, models[0])
    candles = _candles()
    params = {"model": models[0], "min_confidence": 0}
    full = strategies.create("ml_predictor", params)
    full.memo = None
    whole = evaluate(full, candles)
    live = strategies.create("ml_predictor", params)
    live.memo = RowMemo()
    for index in range(len(candles) - 60, len(candles)):
        window = candles[index - WINDOW_CANDLES + 1 : index + 1]
        from_memo = evaluate(live, window)
        recomputed = evaluate(full, window)
        for signals in (from_memo, recomputed):
            assert np.array_equal(signals.side, recomputed.side)
            assert np.array_equal(signals.confidence, recomputed.confidence)
        assert from_memo.side[-1] == whole.side[index]
        assert from_memo.confidence[-1] == whole.confidence[index]
    held = live.memo._memos[-1]
    assert len(held.predictions) == 1  # one model, its rows predicted once each


def test_the_predictor_passes_the_lookahead_check(db, models):
    _promote(db, models[0])
    candles = _candles()
    strategy = strategies.create("ml_predictor", {"model": models[0], "min_confidence": 0.3})
    whole = evaluate(strategy, candles)
    for cut in (len(candles) - 300, len(candles) - 77):
        early = evaluate(strategy, candles[:cut])
        assert np.array_equal(early.side, whole.side[:cut])
        assert np.array_equal(early.confidence, whole.confidence[:cut])


def test_it_follows_the_champion_and_a_rollback(db, models):
    first, second = models
    strategy = strategies.create("ml_predictor", {"model": first, "min_confidence": 0})
    with pytest.raises(StrategyError, match="has no champion model"):
        evaluate(strategy, _candles())
    _promote(db, second)
    MODELS.clear()  # the bots see a change within CHAMPION_CHECK_S; the test does not wait
    reasons = set(evaluate(strategy, _candles()).reason) - {""}
    assert reasons and all(reason.startswith(f"model {second} ") for reason in reasons)
    _promote(db, first)
    with db.writing() as session:
        registry.rollback(session=session, symbol="BTCUSDT", timeframe="1h", actor="test")
    MODELS.clear()
    reasons = set(evaluate(strategy, _candles()).reason) - {""}
    assert all(reason.startswith(f"model {second} ") for reason in reasons)
    pinned = strategies.create(
        "ml_predictor", {"model": first, "follow_champion": False, "min_confidence": 0}
    )
    reasons = set(evaluate(pinned, _candles()).reason) - {""}
    assert reasons and all(reason.startswith(f"model {first} ") for reason in reasons)


def test_the_trend_filter_only_removes_buys(db, models):
    _promote(db, models[0])
    candles = _candles()
    plain = evaluate(strategies.create("ml_predictor", {"model": models[0]}), candles)
    gated = evaluate(
        strategies.create("ml_predictor", {"model": models[0], "trend_filter": True}), candles
    )
    assert (gated.side == BUY).sum() < (plain.side == BUY).sum()
    assert np.all(plain.side[gated.side == BUY] == BUY)
    assert np.array_equal(gated.side == SELL, plain.side == SELL)


def test_bots_on_one_market_share_one_row_and_one_prediction_a_candle(db, models, monkeypatch):
    """Three bots with other parameters on the same market and model: each new candle's
    row is computed once (one structure step) and predicted once, for all of them."""
    _promote(db, models[0])
    rows, steps, predicted = [], [0], []
    real_compute = CarriedRows.compute
    real_step = StructureReader.step
    real_predict = RowPredictor.predict

    def compute(self, frame, candle_ms, *, after_ms):
        rows.append(after_ms)
        return real_compute(self, frame, candle_ms, after_ms=after_ms)

    def step(self, *candle):
        steps[0] += 1
        return real_step(self, *candle)

    def predict(self, row):
        predicted.append(row)
        return real_predict(self, row)

    monkeypatch.setattr(CarriedRows, "compute", compute)
    monkeypatch.setattr(StructureReader, "step", step)
    monkeypatch.setattr(RowPredictor, "predict", predict)
    shared = RowMemo()
    bots = []
    for params in ({"min_confidence": 0}, {"min_confidence": 0.5}, {"trend_filter": True}):
        bot = strategies.create("ml_predictor", {"model": models[0], **params})
        bot.memo = shared
        bots.append(bot)
    candles = _candles()
    end = len(candles) - 40
    for bot in bots:  # the bots' first candle: the window computed whole, once
        evaluate(bot, candles[end - WINDOW_CANDLES : end])
    for end in range(len(candles) - 39, len(candles) + 1):
        rows.clear()
        predicted.clear()
        steps[0] = 0
        window = candles[end - WINDOW_CANDLES : end]
        for bot in bots:
            evaluate(bot, window.copy())  # each bot its own copy of the market's window
        assert len(rows) == 1 and len(predicted) == 1
        if end == len(candles) - 39:
            assert steps[0] > feature_set.WARMUP  # a slice the memo has not read: once
        else:  # one step, and one for each next block's slice read ahead
            assert 1 <= steps[0] <= 1 + feature_set.WARMUP // feature_set.BLOCK + 1
    assert len(shared._memos) == 1
