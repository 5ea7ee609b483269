"""The compiled backtest core against the Decimal reference (its specification): random
signal frames over random and real candles, with stops, take-profits, slippage and both
sizings: every trade, the equity at every close and the totals equal to the last unit."""

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from botdesk.engine.backtest import core
from botdesk.engine.backtest.simulate import CostError, simulate
from botdesk.engine.backtest.sizing import ALL_CASH, RISK, Sizing
from botdesk.engine.backtest.units import AmountOutOfRange
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.klines import load_klines
from botdesk.engine.strategies.registry import create
from botdesk.engine.strategies.safe import evaluate
from tests.conftest import SHARED_DATA
from tests.engine.backtest.frames import assert_same, both, random_candles, random_signals

D = Decimal


def eight(draw_value: float) -> Decimal:
    return D(repr(draw_value)).quantize(D("1e-8"))


amounts = st.floats(min_value=0.0001, max_value=1e7).map(eight)
sizings = st.one_of(
    st.just(Sizing(ALL_CASH)),
    st.builds(
        lambda risk, room: Sizing(RISK, risk, room),
        st.one_of(st.none(), st.floats(0.01, 100).map(eight)),
        st.one_of(st.none(), st.floats(1, 1e7).map(eight)),
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(2, 80),
    price=st.sampled_from([0.00001234, 0.6225, 153.89, 2619.73, 63443.76, 250000.0]),
    fee=st.one_of(
        st.sampled_from([D(0), D("0.001"), D("0.00075")]), st.decimals(0, "0.01", places=8)
    ),
    slippage=st.one_of(st.sampled_from([D(0), D("2.5")]), st.decimals(0, 50, places=8)),
    capital=st.one_of(st.sampled_from([D(10000), D(10)]), st.decimals(1, "1e7", places=8)),
    sizing=sizings,
)
def test_random_signals_trade_the_same_to_the_last_unit(
    seed, count, price, fee, slippage, capital, sizing
):
    assume(float(capital) / price < 1e10)  # quantities within the ledger (2**62 units)
    rng = np.random.default_rng(seed)
    candles = random_candles(rng, count, price)
    signals = random_signals(rng, candles)
    expected, actual = both(
        candles, signals, fee_rate=fee, slippage_bps=slippage, capital=capital, sizing=sizing
    )
    assert_same(expected, actual)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(2, 80),
    slippage=st.sampled_from([D(0), D("2.5")]),
    sizing=sizings,
)
def test_without_stops_the_same_trades_as_with_stops_never_hit(seed, count, slippage, sizing):
    """Signals without a stop, take-profit or limit take the core's shortcut (a position
    waits for the next sell signal only); the same signals with stops no candle reaches
    take the full loop: both trade as the reference does, and alike where the stop does not
    size the entry (all-cash sizing; risk sizing reads the stop's distance)."""
    rng = np.random.default_rng(seed)
    candles = random_candles(rng, count, 153.89)
    signals = random_signals(rng, candles)
    nan = np.full(count, np.nan)
    bare = SignalFrame(signals.side, signals.confidence, nan, nan, signals.reason)
    far = np.where(signals.side == 1, candles.close * 1e-6, np.nan)  # never reached
    guarded = SignalFrame(signals.side, signals.confidence, far, nan, signals.reason)
    costs = dict(fee_rate=D("0.001"), slippage_bps=slippage, capital=D(10000), sizing=sizing)
    expected, actual = both(candles, bare, **costs)
    assert_same(expected, actual)
    expected_guarded, actual_guarded = both(candles, guarded, **costs)
    assert_same(expected_guarded, actual_guarded)
    if sizing.mode == ALL_CASH:
        assert actual_guarded.table.equals(actual.table)
        assert np.array_equal(actual_guarded.equity, actual.equity)


REAL_FILES = ["BTCUSDT-1h.csv", "ETHUSDT-1h.csv", "SOLUSDT-1m.csv", "XRPUSDT-1m.csv"]


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize("name", REAL_FILES)
@pytest.mark.parametrize(
    "sizing", [Sizing(ALL_CASH), Sizing(RISK, D(1), D(5000)), Sizing(RISK, D("0.5"), None)]
)
def test_real_klines_and_strategies_trade_the_same_to_the_last_unit(name, sizing):
    candles = load_klines(SHARED_DATA / name).candles
    trades = 0
    for strategy, params in [
        ("ema_cross", {"stop_atr": 2}),
        ("ema_cross", {"fast": 5, "slow": 13, "stop_atr": 0}),
        ("bollinger_breakout", {"stop_atr": 1}),
        ("smc_structure", {}),
    ]:
        signals = evaluate(create(strategy, params), candles)
        for slippage in (D(0), D("3.7")):
            expected, actual = both(
                candles,
                signals,
                fee_rate=D("0.00075"),
                slippage_bps=slippage,
                capital=D("12345.67"),
                sizing=sizing,
            )
            assert_same(expected, actual)
            trades += len(actual.table)
    assert trades > 1000


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_real_klines_with_random_take_profits_and_stops():
    candles = load_klines(SHARED_DATA / "ETHUSDT-5m.csv").candles
    signals = random_signals(np.random.default_rng(7), candles)
    for sizing in (Sizing(ALL_CASH), Sizing(RISK, D(2), D(3000))):
        expected, actual = both(
            candles,
            signals,
            fee_rate=D("0.001"),
            slippage_bps=D(5),
            capital=D(10000),
            sizing=sizing,
        )
        assert_same(expected, actual)
        reasons = {t.exit_reason for t in actual.trades}
        assert {"exit", "stop_loss", "take_profit"} <= reasons


def _flat(count: int, price: str) -> CandleFrame:
    value = float(price)
    times = 1_700_000_000_000 + 60_000 * np.arange(count, dtype=np.int64)
    flat = np.full(count, value)
    return CandleFrame.from_arrays(times, flat, flat, flat, flat, np.ones(count))


def _buy_then_sell(count: int) -> SignalFrame:
    side = np.zeros(count, dtype=np.int8)
    side[0], side[2] = 1, -1
    nan = np.full(count, np.nan)
    return SignalFrame(side, np.abs(side).astype(float), nan, nan, np.full(count, "", object))


def test_an_entry_the_floats_cannot_size_is_sized_by_the_decimal_rule():
    """Risking 1 % of 10000 with the 5 % stop distance at 2000 buys exactly 1.00000000:
    a float just below 1 would floor to 0.99999999, so the core asks the Decimal rule."""
    sizing = Sizing(RISK, D(1), None)
    price = 2000 * 10**8
    asked = core.entry_size(10**12, price, 0, False, 10**12, 10**8, core.NO_LIMIT, 1.0, 0, 0)
    assert asked == -1
    candles, signals = _flat(5, "2000"), _buy_then_sell(5)
    expected, actual = both(
        candles, signals, fee_rate=D(0), slippage_bps=D(0), capital=D(10000), sizing=sizing
    )
    assert_same(expected, actual)
    assert actual.trades[0].quantity == D("1.00000000")
    all_cash = both(
        _flat(5, "995"), signals, fee_rate=D(0), slippage_bps=D(0), capital=D(1000)
    )  # 1000 x 0.995 / 995: exactly 1 again
    assert_same(*all_cash)
    assert all_cash[1].trades[0].quantity == D("1.00000000")


def test_amounts_past_the_ledgers_range_are_refused_not_rounded():
    count = 6
    times = 1_700_000_000_000 + 60_000 * np.arange(count, dtype=np.int64)
    prices = np.array([1.0, 1.0, 1.0, 40.0, 40.0, 40.0])
    candles = CandleFrame.from_arrays(times, prices, prices, prices, prices, np.ones(count))
    signals = _buy_then_sell(count)
    signals.side[2] = 0
    signals.side[3] = -1  # sell at the open of candle 4, forty times dearer
    capital = D("40000000000")  # 40 billion, within the ledger; x40 is not
    # all in at 1, out at 40: about 1.6 trillion, past the 92 billion a Money column holds
    with pytest.raises(AmountOutOfRange, match="beyond the ledger's exact range"):
        simulate(candles, signals, fee_rate=D(0), slippage_bps=D(0), capital=capital)
    cheap = _flat(5, "0.00000100")  # 1e9 USDT buys 1e15 coins: past 2**62 units
    with pytest.raises(AmountOutOfRange, match="beyond the ledger's exact range"):
        simulate(cheap, _buy_then_sell(5), fee_rate=D(0), slippage_bps=D(0), capital=D(10**9))


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ({"fee_rate": D("0.0000000001")}, "the fee rate has more than 8 decimal places"),
        ({"fee_rate": D(1)}, "the fee rate must be at least 0 and below 1"),
        ({"slippage_bps": D(-1)}, "the slippage must be at least 0"),
        ({"capital": D(0)}, "the capital must be at least"),
        ({"capital": D("1e12")}, "the capital must be at least"),
    ],
)
def test_costs_the_ledger_cannot_hold_are_refused(costs, message):
    candles, signals = _flat(5, "100"), _buy_then_sell(5)
    arguments = {"fee_rate": D("0.001"), "slippage_bps": D(0), "capital": D(10000)} | costs
    with pytest.raises(CostError, match=message):
        simulate(candles, signals, **arguments)
