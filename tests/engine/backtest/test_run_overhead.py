"""What a backtest does around its compiled passes, kept from run to run: the checked
costs, the validated parameters and their dump; the buy rows with their unit prices
loaded in one pass; the trades' gains and losses split in one pass. Each gives what the
plain computation gives."""

from decimal import Decimal

import numpy as np
import pytest

from botdesk.engine.backtest import core
from botdesk.engine.backtest.metrics import _gains_and_losses
from botdesk.engine.backtest.runs import BacktestError, params_dump, strategy_of, validated_params
from botdesk.engine.backtest.simulate import CostError, Costs
from botdesk.engine.backtest.sizing import ALL_CASH_SIZING
from botdesk.engine.backtest.trades import pnl_floats


def test_the_same_costs_are_checked_once_and_bad_ones_every_time():
    first = Costs.of(
        fee_rate=Decimal("0.00075"), slippage_bps=Decimal(2), capital=Decimal(5000),
        sizing=ALL_CASH_SIZING,
    )  # fmt: skip
    again = Costs.of(
        fee_rate=Decimal("0.00075"), slippage_bps=Decimal(2), capital=Decimal(5000),
        sizing=ALL_CASH_SIZING,
    )  # fmt: skip
    assert again is first
    assert first == Costs.checked(Decimal("0.00075"), Decimal(2), Decimal(5000), ALL_CASH_SIZING)
    for _ in range(2):
        with pytest.raises(CostError, match="the fee rate must be at least 0"):
            Costs.of(
                fee_rate=Decimal(-1), slippage_bps=Decimal(0), capital=Decimal(5000),
                sizing=ALL_CASH_SIZING,
            )  # fmt: skip


def test_the_same_parameters_are_validated_once_by_value_and_type():
    first = validated_params("ema_cross", {"fast": 9, "slow": 21})
    assert validated_params("ema_cross", {"slow": 21, "fast": 9}) is first
    assert validated_params("ema_cross", {"fast": 9.0, "slow": 21}) is not first  # a float
    assert validated_params("ema_cross", {"fast": 9.0, "slow": 21}) == first
    for _ in range(2):
        with pytest.raises(BacktestError, match="fast"):
            strategy_of("ema_cross", {"fast": 50, "slow": 21})
        with pytest.raises(BacktestError):
            strategy_of("ema_cross", {"fast": [9], "slow": 21})  # unhashable: checked anew
    dump = params_dump(first)
    assert dump == first.model_dump()
    dump["fast"] = 5  # the caller's own dict
    assert params_dump(first) == first.model_dump()


def test_signal_rows_are_the_buy_rows_and_load_the_prices_read_there():
    rng = np.random.default_rng(7)
    side = rng.choice(np.array([-1, 0, 0, 0, 1], dtype=np.int8), 5000)
    open_units, close_units = rng.integers(1, 10**12, (2, 5000))
    rows, checksum = core.signal_rows(side, open_units, close_units)
    assert rows.tolist() == np.flatnonzero(side == 1).tolist() == core.buy_rows(side).tolist()
    signals = np.flatnonzero(side[:-1] != 0)
    assert checksum == int((open_units[signals + 1] + close_units[signals]).sum())


def test_gains_and_losses_are_numpys_sums_of_the_trades_floats():
    rng = np.random.default_rng(11)
    for count in (0, 1, 7, 8, 9, 129, 1000, 5003):
        pnl = rng.integers(-(10**15), 10**15, count) * rng.choice([1, 1000], count)
        floats = pnl_floats(pnl)
        gained, lost = _gains_and_losses(pnl)
        assert float(gained.sum()) == float(floats[floats > 0].sum())
        assert float(lost.sum()) == float(-floats[floats < 0].sum())
        assert len(gained) == np.count_nonzero(floats > 0)
