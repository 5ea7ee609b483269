"""The compiled core over many signal sets at once, on both cores (numba's prange): each
set is the single backtest's own pass (`core.run`) on its own state, trade rows and
equity, so its trades and totals are those of `simulate` to the unit; then each set's
equity figures (`metrics.equity_figures`)."""

import numpy as np
from numba import njit, prange

from botdesk.engine.backtest import core
from botdesk.engine.backtest.metrics import equity_figures


@njit(parallel=True, cache=True)
def run_many(
    pending, side, open_units, close_units, high, low, close, stop, target, stop_units,
    target_units, fee_units, slippage_units, capital, risk, max_notional, paid_factor,
    capital_float, states, float_states, trades, equity, statuses,
):  # fmt: skip
    """`core.run` for each set in `pending` (row k of side, states, trades, equity; of the
    level arrays too when they have a row per set, else their single row), its status
    into statuses[k]."""
    for j in prange(len(pending)):
        k = pending[j]
        s = k if stop.shape[0] > 1 else 0
        t = k if target.shape[0] > 1 else 0
        statuses[k] = core.run(
            side[k], open_units, close_units, high, low, close, stop[s], target[t],
            stop_units[s], target_units[t], fee_units, slippage_units, capital, risk,
            max_notional, paid_factor, capital_float, states[k], float_states[k], trades[k],
            equity[k],
        )  # fmt: skip


@njit(parallel=True, cache=True)
def figures_many(equity, done):
    """equity_figures of each row of `equity` where `done` (NaN elsewhere)."""
    figures = np.full((len(equity), 3), np.nan)
    for k in prange(len(equity)):
        if done[k]:
            drawdown, mean, spread = equity_figures(equity[k])
            figures[k, 0], figures[k, 1], figures[k, 2] = drawdown, mean, spread
    return figures
