"""Sweeps (`run_sweep`): every parameter set gives the trades, the P&L to the unit and the
figures of `run_backtest` of that set on real candles, whatever the sizing, the stops and
take-profits, the chunking and the entries the core's floats cannot size; a bad set gets
its error and the others go on."""

from decimal import Decimal

import numpy as np
import pytest

from botdesk.engine.backtest import sweep
from botdesk.engine.backtest.data import load_history
from botdesk.engine.backtest.runs import BacktestError, BacktestRequest, run_backtest
from botdesk.engine.backtest.sizing import ALL_CASH_SIZING, RISK, Sizing
from botdesk.engine.backtest.sweep import run_sweep
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import Strategy, StrategyParams
from tests.conftest import SHARED_DATA
from tests.engine.limit_strategy import LimitEmaCross

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
PATH = str(SHARED_DATA / "BTCUSDT-1h.csv")


@pytest.fixture(scope="module")
def history():
    return load_history(PATH, symbol="BTCUSDT", timeframe="1h")


def _request(strategy: str = "ema_cross", **fields) -> BacktestRequest:
    base = {"params": {}, "symbol": "BTCUSDT", "timeframe": "1h", "data_source": PATH}
    return BacktestRequest(strategy=strategy, **(base | fields))


def _same_as_alone(request: BacktestRequest, sets: list[dict], results, history) -> None:
    assert len(results) == len(sets)
    for params, result in zip(sets, results, strict=True):
        alone = run_backtest(
            BacktestRequest(**{**request.__dict__, "params": {**request.params, **params}}),
            history=history,
        )
        assert result.error is None, (params, result.error)
        assert result.params == alone.params
        assert result.table.equals(alone.simulation.table), params
        assert result.metrics == alone.metrics, params  # final equity and fees exact
        assert len(result.table) > 0


@pytest.mark.parametrize(
    "sizing, capital",
    [
        (ALL_CASH_SIZING, Decimal(10000)),
        # a billion: the core's floats cannot size some entries, the Decimal rule does
        (ALL_CASH_SIZING, Decimal(10**9)),
        (Sizing(RISK, Decimal("1.5"), Decimal(25000)), Decimal(10**9)),
    ],
)
def test_each_set_is_the_backtest_of_that_set(history, sizing, capital):
    request = _request(
        params={"stop_atr": 2},
        fee_rate=Decimal("0.00075"),
        slippage_bps=Decimal("2.5"),
        capital=capital,
        sizing=sizing,
    )
    sets = [{"fast": f, "slow": s, "stop_atr": a} for f in (3, 9) for s in (21, 55) for a in (0, 2)]
    _same_as_alone(request, sets, run_sweep(request, sets, history=history), history)


def test_take_profits_and_another_strategy(history):
    request = _request("smc_structure", capital=Decimal(50000))
    sets = [{"swing": swing, "min_confidence": 0.5} for swing in (2, 3, 5, 8)]
    _same_as_alone(request, sets, run_sweep(request, sets, history=history), history)


def test_sets_in_many_chunks_are_the_same(history, monkeypatch):
    request = _request(capital=Decimal(10**9))
    sets = [{"fast": f, "slow": s} for f in (2, 5, 8) for s in (13, 30)]
    whole = run_sweep(request, sets, history=history)
    monkeypatch.setattr(sweep, "MAX_CHUNK", 2)  # three chunks, other sets side by side
    for one, other in zip(whole, run_sweep(request, sets, history=history), strict=True):
        assert one.table.equals(other.table)
        assert one.metrics == other.metrics
    _same_as_alone(request, sets[:2], whole[:2], history)


class FailsOnSeven(Strategy):
    """Buys every tenth candle, sells five later; raises when `period` is 7."""

    name = "fails_on_seven"
    title = "Fails on seven"

    class Params(StrategyParams):
        period: int = 3

    @property
    def lookback(self) -> int:
        return 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        if self.params.period == 7:
            raise RuntimeError("seven is unlucky")
        rows = np.arange(len(candles))
        return SignalFrame.build(
            len(candles),
            buy=rows % 10 == self.params.period,
            sell=rows % 10 == self.params.period + 5,
            confidence=1.0,
        )


def test_a_bad_set_gets_its_error_and_the_others_go_on(history):
    registry.register(FailsOnSeven)
    try:
        request = _request("fails_on_seven")
        sets = [{"period": 1}, {"period": 7}, {"period": "x"}, {"period": 2}]
        results = run_sweep(request, sets, history=history)
        assert "seven is unlucky" in results[1].error
        assert "period" in results[2].error and results[2].metrics is None
        _same_as_alone(request, [sets[0], sets[3]], [results[0], results[3]], history)
        assert results[0].metrics.trades != 0
    finally:
        registry.STRATEGIES.pop("fails_on_seven", None)


def test_a_request_that_cannot_run_is_refused(history):
    with pytest.raises(BacktestError, match="the request asks for"):
        run_sweep(_request(timeframe="4h"), [{"fast": 5, "slow": 9}], history=history)
    with pytest.raises(BacktestError, match="the fee rate"):
        run_sweep(_request(fee_rate=Decimal(2)), [{}], history=history)


@pytest.mark.parametrize("capital", [Decimal(10000), Decimal(10**9)])
def test_sets_that_ask_for_limit_orders_are_each_their_own_backtest(history, capital):
    """Limit entries and exits (some sets market, some good till cancelled), with a
    billion the entries the floats cannot size too (sized on the limit price)."""
    registry.register(LimitEmaCross)
    try:
        request = _request("limit_ema_cross", params={"stop_atr": 2}, capital=capital)
        sets = [
            {"fast": 5, "slow": 13, "entry_offset": 0.3, "good_for": 2},
            {"fast": 9, "slow": 21, "entry_offset": 0, "exit_offset": 0, "good_for": 0},
            {"fast": 5, "slow": 21, "entry_offset": 1, "exit_offset": -0.2, "good_for": 5},
        ]
        results = run_sweep(request, sets, history=history)
        _same_as_alone(request, sets, results, history)
        plain = run_sweep(
            _request(params={"stop_atr": 2}, capital=capital),
            [{"fast": 5, "slow": 13}],
            history=history,
        )
        assert not results[0].table.equals(plain[0].table)  # the limits changed the trades
    finally:
        registry.STRATEGIES.pop("limit_ema_cross", None)
