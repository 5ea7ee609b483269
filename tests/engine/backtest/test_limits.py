"""Limit orders in the backtest: hand-computed trades on small frames, and the compiled
core against the Decimal reference to the last unit on random and real candles with
limit entries and exits (good till cancelled and for some candles)."""

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from botdesk.engine.backtest.sizing import ALL_CASH, RISK, Sizing
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.klines import load_klines
from botdesk.engine.strategies.registry import create
from botdesk.engine.strategies.safe import evaluate
from tests.conftest import SHARED_DATA
from tests.engine.backtest.frames import (
    assert_same,
    both,
    random_candles,
    random_signals,
    with_random_limits,
)

D = Decimal
NAN = np.nan
COSTS = dict(fee_rate=D("0.001"), slippage_bps=D(10), capital=D(1000))


def _candles(*rows: tuple) -> CandleFrame:
    """Rows of (open, high, low, close)."""
    times = 1_700_000_000_000 + 60_000 * np.arange(len(rows), dtype=np.int64)
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    return CandleFrame.from_arrays(times, o, h, low, c, np.ones(len(rows)))


def _signals(count: int, sides: dict, limits: dict, stops: dict | None = None) -> SignalFrame:
    """sides: {row: 1 | -1}; limits: {row: (price, candles good for)}; stops: {row: stop}."""
    side = np.zeros(count, dtype=np.int8)
    limit, good_for = np.full(count, NAN), np.zeros(count, dtype=np.int64)
    stop = np.full(count, NAN)
    for row, value in sides.items():
        side[row] = value
    for row, (price, candles) in limits.items():
        limit[row], good_for[row] = price, candles
    for row, level in (stops or {}).items():
        stop[row] = level
    reasons = np.full(count, "", dtype=object)
    return SignalFrame(
        side, np.abs(side) * 1.0, stop, np.full(count, NAN), reasons, limit, good_for
    )


def _trades(candles, signals, **costs):
    expected, actual = both(candles, signals, **{**COSTS, **costs})
    assert_same(expected, actual)
    return actual


def _all_cash(price: str, cash: str = "1000") -> Decimal:
    return Sizing(ALL_CASH).quantity(
        price=D(price), stop=None, cash=D(cash), capital=D(cash),
        fee_rate=COSTS["fee_rate"], slippage_bps=COSTS["slippage_bps"],
    )  # fmt: skip


def test_a_buy_limit_touched_later_fills_at_the_limit_and_a_sell_limit_gap_up_at_the_open():
    candles = _candles(
        (100, 101, 99, 100),  # 0: buy, limit 98 for 2 candles
        (100, 100.5, 99, 99.5),  # 1: not touched
        (99, 99, 97.5, 98.5),  # 2: low 97.5 <= 98: buys at 98
        (98.5, 99, 98, 99),  # 3: sell, limit 103 until cancelled
        (104, 105, 103.5, 104),  # 4: opens at 104 above 103: sells at the open
        (104, 104, 104, 104),
    )
    result = _trades(candles, _signals(6, {0: 1, 3: -1}, {0: (98, 2), 3: (103, 0)}))
    (trade,) = result.trades
    quantity = _all_cash("98")  # sized on the limit price, not the close of 100
    assert (trade.entry_index, trade.entry_price) == (2, D(98))
    assert (trade.exit_index, trade.exit_price, trade.exit_reason) == (4, D(104), "exit")
    assert trade.quantity == quantity
    entry_fee = (quantity * 98 * D("0.001")).quantize(D("1e-8"))
    exit_fee = (quantity * 104 * D("0.001")).quantize(D("1e-8"))
    assert trade.fees == entry_fee + exit_fee  # a resting limit pays no slippage
    assert trade.pnl == (quantity * 104).quantize(D("1e-8")) - quantity * 98 - trade.fees


def test_a_gap_down_through_a_buy_limit_fills_at_the_open():
    candles = _candles((100, 101, 99, 100), (97, 97.5, 96, 97), (97, 97, 97, 97))
    (trade,) = _trades(candles, _signals(3, {0: 1}, {0: (98, 0)})).trades
    assert (trade.entry_index, trade.entry_price, trade.exit_reason) == (1, D(97), "end_of_data")


def test_an_expired_limit_does_not_fill_and_the_signals_count_again_from_its_expiry():
    candles = _candles(
        (100, 101, 99, 100),  # 0: buy, limit 98 for 1 candle
        (100, 100, 99, 99),  # 1: not touched
        (99, 99, 90, 96),  # 2: it expired when this candle opened; a market buy here
        (96, 96, 96, 96),  # 3: the market buy fills at the open (slipped 10 bps)
        (96, 96, 96, 96),
    )
    (trade,) = _trades(candles, _signals(5, {0: 1, 2: 1}, {0: (98, 1)})).trades
    assert (trade.entry_index, trade.entry_price) == (3, D("96.096"))


def test_an_untouched_limit_until_cancelled_rests_and_later_buys_are_ignored():
    candles = _candles(*[(100, 101, 99, 100)] * 6)
    result = _trades(candles, _signals(6, {0: 1, 2: 1, 4: 1}, {0: (98, 0)}))
    assert result.trades == [] and result.refused == 0


def test_the_stop_comes_before_an_exit_limit_touched_in_the_same_candle():
    candles = _candles(
        (100, 101, 99, 100),  # 0: market buy, stop 95
        (100, 101, 99, 100),  # 1: bought at the open; sell, limit 103 for 3 candles
        (100, 104, 94, 100),  # 2: touches both: the stop is assumed first
        (100, 100, 100, 100),
    )
    (trade,) = _trades(candles, _signals(4, {0: 1, 1: -1}, {1: (103, 3)}, {0: 95})).trades
    assert (trade.exit_index, trade.exit_reason) == (2, "stop_loss")
    assert trade.exit_price == D("94.905")  # 95 less 10 bps of slippage


def test_an_expired_exit_limit_leaves_the_position_to_the_next_sell():
    candles = _candles(
        (100, 101, 99, 100),  # 0: market buy
        (100, 101, 99, 100),  # 1: sell, limit 110 for 1 candle
        (100, 102, 99, 100),  # 2: not touched
        (100, 112, 99, 100),  # 3: expired at its open: the 112 does not fill it; sell
        (101, 101, 101, 101),  # 4: the market sell fills at the open
    )
    (trade,) = _trades(candles, _signals(5, {0: 1, 1: -1, 3: -1}, {1: (110, 1)})).trades
    assert (trade.exit_index, trade.exit_price) == (4, D("100.899"))


sizings = st.sampled_from([Sizing(ALL_CASH), Sizing(RISK, D(1), D(5000)), Sizing(RISK, D(2))])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(2, 80),
    price=st.sampled_from([0.00001234, 0.6225, 153.89, 63443.76]),
    slippage=st.sampled_from([D(0), D("2.5")]),
    capital=st.sampled_from([D(10000), D(10), D("12345.67891234")]),
    sizing=sizings,
)
def test_random_limit_orders_trade_the_same_to_the_last_unit(
    seed, count, price, slippage, capital, sizing
):
    assume(float(capital) / price < 1e10)
    rng = np.random.default_rng(seed)
    candles = random_candles(rng, count, price)
    signals = with_random_limits(rng, random_signals(rng, candles), candles.close)
    _trades(candles, signals, slippage_bps=slippage, capital=capital, sizing=sizing)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize("name", ["BTCUSDT-1h.csv", "SOLUSDT-1m.csv"])
def test_real_klines_with_limit_entries_and_exits_trade_the_same(name):
    candles = load_klines(SHARED_DATA / name).candles
    rng = np.random.default_rng(11)
    strategy = evaluate(create("ema_cross", {"fast": 5, "slow": 13, "stop_atr": 2}), candles)
    for signals in (strategy, random_signals(rng, candles)):
        limited = with_random_limits(rng, signals, candles.close)
        result = _trades(candles, limited, sizing=Sizing(RISK, D(1), D(5000)))
        # a market entry pays the open plus 10 bps; a limit entry the limit or the open
        opens = candles.open
        at_limit = [
            t for t in result.trades if t.entry_price <= D(repr(float(opens[t.entry_index])))
        ]
        assert len(result.trades) > 20 and len(at_limit) > 5


def test_a_limit_entry_the_floats_cannot_size_is_sized_by_the_decimal_rule_on_its_limit():
    """All-cash, 1000 x 0.995 / 995 is exactly 1: the core asks the Decimal rule, which
    must size on the limit (995), not on the close (1000): 0.995 of a unit otherwise."""
    candles = _candles(*[(1000, 1000, 990, 1000)] * 5)
    signals = _signals(5, {0: 1, 2: -1}, {0: (995, 0)})
    (trade,) = _trades(candles, signals, fee_rate=D(0), slippage_bps=D(0)).trades
    assert (trade.entry_price, trade.quantity) == (D(995), D("1.00000000"))
