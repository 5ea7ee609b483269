"""Every strategy on real data: well-formed signals, the documented rule, no look-ahead."""

import json
import subprocess
import sys

import numpy as np
import pytest

from botdesk.engine.frames import BUY, SELL, CandleFrame, SignalFrame
from botdesk.engine.indicators import ema
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import Strategy
from botdesk.engine.strategies.registry import (
    STRATEGIES,
    InvalidParams,
    UnknownStrategy,
    create,
    params_schema,
    validate_params,
)
from botdesk.engine.strategies.safe import StrategyError, evaluate
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA

SAMPLES = {symbol: load_klines(sample_file(symbol)).candles for symbol in ("BTCUSDT", "SOLUSDT")}
DESIGN_NAMES = {
    "ema_cross": ["fast", "slow", "stop_atr"],
    "rsi_reversion": ["period", "oversold", "overbought", "stop_atr"],
    "bollinger_breakout": ["period", "stddev", "stop_atr"],
    "macd_trend": ["fast", "slow", "signal", "stop_atr"],
    "smc_structure": ["swing", "min_confidence", "stop_atr"],
}
# reads higher timeframes, slow: tested in tests/engine/test_confluence_strategy.py
MTF_NAMES = {"confluence": ["timeframes", "entry_score", "exit_score", "stop_atr"]}
# needs a trained model in the database: tested in tests/ml/test_predictor.py
ML_NAMES = {
    "ml_predictor": ["model", "follow_champion", "min_confidence", "trend_filter", "stop_atr"]
}


def test_the_registry_has_the_design_strategies_with_the_design_parameter_names():
    assert sorted(STRATEGIES) == sorted(DESIGN_NAMES | MTF_NAMES | ML_NAMES)
    for name, fields in (DESIGN_NAMES | MTF_NAMES | ML_NAMES).items():
        assert sorted(STRATEGIES[name].Params.model_fields) == sorted(fields)
        schema = params_schema(name)
        for field in fields:  # the desk builds its form from these
            prop = schema["properties"][field]
            assert prop["description"]
            assert "default" in prop
            if "enum" in prop:  # a choice: the optimiser searches its values
                assert prop["default"] in prop["enum"]
            elif prop["type"] != "boolean":
                assert "minimum" in prop and "maximum" in prop


@pytest.mark.parametrize("name", sorted(DESIGN_NAMES))
@pytest.mark.parametrize("symbol", sorted(SAMPLES))
@pytest.mark.parametrize("timeframe", ["1m", "15m"])
def test_every_strategy_signals_both_ways_on_real_data(name, symbol, timeframe):
    candles = aggregate(SAMPLES[symbol], timeframe)
    frame = evaluate(create(name), candles)
    buys, sells = frame.side == BUY, frame.side == SELL
    assert buys.sum() >= 3 and sells.sum() >= 3
    assert np.all(frame.stop[buys] < candles.close[buys])  # stop_atr 2 by default
    assert np.all(np.isnan(frame.stop[~buys]))
    assert np.all((frame.confidence[buys | sells] > 0) & (frame.confidence[buys | sells] <= 1))
    assert np.all(frame.confidence[~(buys | sells)] == 0)
    assert all(frame.reason[buys | sells])
    no_stop = evaluate(create(name, {"stop_atr": 0}), candles)
    assert np.isnan(no_stop.stop).all() and np.isnan(no_stop.take_profit).all()
    assert np.array_equal(no_stop.side, frame.side)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize("name", sorted(DESIGN_NAMES))
def test_every_strategy_on_two_years_of_hourly_candles(name):
    candles = load_klines(SHARED_DATA / "ETHUSDT-1h.csv").candles
    frame = evaluate(create(name), candles)
    assert (frame.side == BUY).sum() > 50 and (frame.side == SELL).sum() > 50


@pytest.mark.parametrize("name", sorted(DESIGN_NAMES))
def test_no_strategy_looks_ahead(name):
    """Row t from candles 0..t equals row t from the whole week, for many t."""
    candles = SAMPLES["BTCUSDT"][:3000]
    strategy = create(name)
    whole = strategy.signals(candles)
    for cut in (400, 1111, 2022, 2999):
        part = strategy.signals(candles[: cut + 1])
        assert np.array_equal(part.side, whole.side[: cut + 1]), cut
        assert np.allclose(part.confidence, whole.confidence[: cut + 1])
        assert np.allclose(part.stop, whole.stop[: cut + 1], equal_nan=True)


def test_ema_cross_is_exactly_the_documented_rule():
    candles = SAMPLES["SOLUSDT"]
    frame = create("ema_cross", {"fast": 5, "slow": 13, "stop_atr": 0}).signals(candles)
    fast, slow = ema(candles.close, 5), ema(candles.close, 13)
    expected_buys = [
        t for t in range(1, len(candles)) if fast[t - 1] <= slow[t - 1] and fast[t] > slow[t]
    ]
    expected_sells = [
        t for t in range(1, len(candles)) if fast[t - 1] >= slow[t - 1] and fast[t] < slow[t]
    ]
    assert np.flatnonzero(frame.side == BUY).tolist() == expected_buys
    assert np.flatnonzero(frame.side == SELL).tolist() == expected_sells
    # crosses alternate: between two buys there is a sell
    sides = frame.side[frame.side != 0]
    assert np.all(sides[1:] != sides[:-1])


def test_smc_entries_need_the_configured_confluence():
    candles = SAMPLES["BTCUSDT"]
    loose = create("smc_structure", {"min_confidence": 0.7}).signals(candles)
    strict = create("smc_structure", {"min_confidence": 1.0}).signals(candles)
    assert set(np.round(loose.confidence[loose.side == BUY], 6)) <= {0.7, 1.0}
    assert set(np.round(strict.confidence[strict.side == BUY], 6)) == {1.0}
    assert 0 < (strict.side == BUY).sum() < (loose.side == BUY).sum()
    buys = loose.side == BUY
    assert np.allclose(
        loose.take_profit[buys] - candles.close[buys], 2 * (candles.close[buys] - loose.stop[buys])
    )


@pytest.mark.parametrize(
    ("name", "params", "field", "message"),
    [
        ("ema_cross", {"fast": 30, "slow": 20}, "fast", "fast must be below slow"),
        ("ema_cross", {"fast": 1}, "fast", "greater than or equal to 2"),
        ("ema_cross", {"fats": 3}, "fats", "not a parameter of ema_cross"),
        ("rsi_reversion", {"oversold": 60}, "oversold", "less than or equal to 49"),
        ("bollinger_breakout", {"stddev": "wide"}, "stddev", "valid number"),
        ("macd_trend", {"signal": 0}, "signal", "greater than or equal to 2"),
        ("smc_structure", {"min_confidence": 1.5}, "min_confidence", "less than or equal to 1"),
        ("smc_structure", {"stop_atr": -1}, "stop_atr", "greater than or equal to 0"),
    ],
)
def test_invalid_parameters_name_the_field(name, params, field, message):
    with pytest.raises(InvalidParams) as error:
        validate_params(name, params)
    assert error.value.field == field
    assert message in str(error.value)
    assert str(error.value).startswith(f"{name}: {field}: ")


def test_unknown_strategies_and_non_objects_are_refused():
    with pytest.raises(UnknownStrategy, match="known strategies: bollinger_breakout"):
        create("martingale")
    with pytest.raises(InvalidParams, match="must be a JSON object"):
        validate_params("ema_cross", [9, 21])
    assert validate_params("ema_cross", None).slow == 21


def test_the_registry_imports_no_database_or_scheduler_code():
    probe = (
        "import sys, json; import botdesk.engine.strategies.registry, botdesk.engine.indicators;"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(("
        "'botdesk.db.session', 'botdesk.db.models', 'sqlmodel', 'apscheduler', "
        "'botdesk.engine.process', 'botdesk.app')))))"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    assert json.loads(output.stdout) == []


class Exploding(Strategy):
    """A plug-in with a bug."""

    name = "exploding"
    title = "Exploding"

    @property
    def lookback(self) -> int:
        return 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        return {}["missing"]


class Malformed(Exploding):
    name = "malformed"

    def signals(self, candles: CandleFrame) -> SignalFrame:
        return SignalFrame.build(len(candles) - 1, buy=[], sell=[], confidence=0)


class StopAbove(Exploding):
    name = "stop_above"

    def signals(self, candles: CandleFrame) -> SignalFrame:
        buy = np.zeros(len(candles), dtype=bool)
        buy[-1] = True
        return SignalFrame.build(
            len(candles), buy=buy, sell=[], confidence=1, stop=candles.close * 1.01
        )


def test_user_strategy_failures_become_strategy_errors():
    candles = SAMPLES["BTCUSDT"][:50]
    with pytest.raises(StrategyError, match="strategy exploding raised KeyError: 'missing'"):
        evaluate(Exploding(), candles)
    with pytest.raises(StrategyError, match="returned 49 rows for 50 candles"):
        evaluate(Malformed(), candles)
    with pytest.raises(StrategyError, match=r"a buy with its stop .* not below the close"):
        evaluate(StopAbove(), candles)


class BadLimits(Exploding):
    """A buy on the last candle whose limit price and candles are set per test."""

    name = "bad_limits"

    def __init__(self, limit, limit_candles):
        super().__init__()
        self.limit, self.limit_candles = limit, limit_candles

    def signals(self, candles: CandleFrame) -> SignalFrame:
        buy = np.zeros(len(candles), dtype=bool)
        buy[-1] = True
        frame = SignalFrame.build(len(candles), buy=buy, sell=[], confidence=1)
        limits = np.full(len(candles), self.limit)
        good_for = np.full(len(candles), self.limit_candles)
        return SignalFrame(*(getattr(frame, c) for c in FRAME_COLUMNS), limits, good_for)


FRAME_COLUMNS = ("side", "confidence", "stop", "take_profit", "reason")


@pytest.mark.parametrize(
    "limit, limit_candles, message",
    [
        (-1.0, 0, "a limit price -1: it must be above 0"),
        (np.inf, 0, "a limit price inf: it must be above 0"),
        (100.0, -2, "limit_candles that are not whole numbers"),
        (100.0, 1.5, "limit_candles that are not whole numbers"),
    ],
)
def test_limit_orders_a_strategy_cannot_place_are_refused(limit, limit_candles, message):
    candles = SAMPLES["BTCUSDT"][:50]
    with pytest.raises(StrategyError, match=message):
        evaluate(BadLimits(limit, limit_candles), candles)
    assert evaluate(BadLimits(100.0, 3), candles).limit_at(49) == (100.0, 3)
    assert evaluate(BadLimits(np.nan, 0), candles).limit_at(49) is None  # a market order


def test_plug_ins_register_by_name():
    try:
        registry.register(Exploding)
        assert registry.get("exploding") is Exploding
        assert validate_params("exploding", {"stop_atr": 1}).stop_atr == 1
    finally:
        STRATEGIES.pop("exploding", None)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize("fast, slow", [(2, 3), (9, 21), (20, 150)])
def test_ema_cross_crossings_are_the_numpy_rule(fast, slow):
    """The compiled pass against the rule written with numpy (base.crossed_above/below and
    the slow EMA's direction), on real candles."""
    from botdesk.engine.strategies.base import crossed_above, crossed_below
    from botdesk.engine.strategies.ema_cross import crossings

    close = load_klines(SHARED_DATA / "BTCUSDT-1h.csv").candles.close
    fast_ema, slow_ema = ema(close, fast), ema(close, slow)
    buy, sell, confidence = crossings(fast_ema, slow_ema)
    assert np.array_equal(buy, crossed_above(fast_ema, slow_ema)) and buy.sum() > 100
    assert np.array_equal(sell, crossed_below(fast_ema, slow_ema))
    rising = np.r_[False, slow_ema[1:] > slow_ema[:-1]]
    falling = np.r_[False, slow_ema[1:] < slow_ema[:-1]]
    agrees = np.where(buy, rising, falling)
    signalled = buy | sell
    assert np.array_equal(confidence[signalled], np.where(agrees, 1.0, 0.5)[signalled])


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize("name", ["BTCUSDT-1h.csv", "SOLUSDT-1m.csv", "ETHUSDT-5m.csv"])
@pytest.mark.parametrize(
    "params",
    [
        {"fast": 2, "slow": 3, "stop_atr": 0},
        {"fast": 9, "slow": 21, "stop_atr": 0},
        {"fast": 20, "slow": 150, "stop_atr": 1.5},
    ],
)
def test_ema_cross_in_one_pass_is_built_from_talibs_emas(name, params):
    """ema_cross's one compiled pass (both EMAs, the crossings, the frame) gives the frame
    SignalFrame.build makes of `crossings` over TA-Lib's EMAs (its way inside a shared
    scope): the same floats, sides and stops on every row, on real candles, a history
    shorter than the slow EMA included."""
    from botdesk.engine.indicators.shared import shared_results
    from botdesk.engine.strategies.ema_cross import crossings

    strategy = create("ema_cross", params)
    whole = load_klines(SHARED_DATA / name).candles
    for candles in (whole, whole[: params["slow"] - 1], whole[: params["slow"] + 1]):
        fast, slow = ema(candles.close, params["fast"]), ema(candles.close, params["slow"])
        buy, sell, confidence = crossings(fast, slow)
        expected = SignalFrame.build(
            len(candles), buy=buy, sell=sell, confidence=confidence,
            stop=strategy.atr_stop(candles),
        )  # fmt: skip
        frame = strategy.signals(candles)
        with shared_results():  # the EMAs shared (a sweep, the bots of a pass)
            shared = strategy.signals(candles)
        for column in ("side", "confidence", "stop", "take_profit"):
            for made in (frame, shared):
                assert np.array_equal(
                    getattr(made, column), getattr(expected, column), equal_nan=True
                ), column
        assert frame.side.dtype == np.int8
    assert (strategy.signals(whole).side == 1).sum() > 40
