"""The compiled backtest core: one pass over the candles in integer units (numba).

It does what `botdesk.engine.backtest.reference` does (read its docstring for the order
of events), with the same arithmetic to the last unit (`botdesk.engine.backtest.exact`),
and leaves the trades in an int64 table and the equity in a float array. The equity's
floats are computed as the reference computes them, operation for operation, so they are
the same floats.

Sizing needs a division the core does in float when the float can tell the answer
(nearly always); when it cannot, the core stops at that signal with NEED_SIZE and the
caller sizes it with the Decimal rule and calls again: the state array carries
everything over, so the second call carries on where the first stopped.
"""

import math

import numpy as np
from numba import njit, prange

from botdesk.engine.backtest import wide
from botdesk.engine.backtest.exact import (
    E8,
    TOO_BIG,
    fits,
    floor_units,
    slipped,
    to_float,
    units_product,
)
from botdesk.engine.backtest.metrics import equity_figures, figure_step

DONE, NEED_SIZE, TOO_LARGE = 0, 1, 2
EXIT, STOP_LOSS, TAKE_PROFIT, END_OF_DATA = 0, 1, 2, 3  # trades.REASONS order
NO_LIMIT = -1
KEPT = 0.995  # sizing.KEPT: the cash an all-cash entry may spend
NO_STOP_DISTANCE = 0.05  # sizing.NO_STOP_DISTANCE

# The state array: where the pass is, its exact totals, and the exchange with the caller.
START, CASH, FEES, TRADES, REFUSED, FLAT_FROM, SIZED_AT, SIZED, ASK_AT = range(9)
STATE_SIZE = 9
# The float state: the running float sum of the trades' P&L (for the equity), and the
# first pass of the equity figures (`metrics.equity_figures`) over the equity written so
# far: its peak, drawdown, the level below which a value deepens it, the sum of the
# returns, the last value.
PNL_SUM, PEAK, DRAWDOWN, DEEPER, RETURNS, LAST = range(6)
FLOAT_STATE_SIZE = 6


def new_state(capital: int) -> tuple[np.ndarray, np.ndarray]:
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[CASH] = capital
    state[SIZED_AT] = state[ASK_AT] = -1
    return state, np.zeros(FLOAT_STATE_SIZE, dtype=np.float64)


@njit(cache=True)
def buy_rows(side):
    """The rows of buy signals (side 1), counted, then listed: one pass over the sides
    only (the levels are read at these rows alone; an array as long as the candles, made
    here, would cost its page faults)."""
    return signal_rows(side, _NO_UNITS, _NO_UNITS)[0]


_NO_UNITS = np.zeros(0, dtype=np.int64)


@njit(cache=True)
def signal_rows(side, open_units, close_units):
    """(the rows of buy signals, a checksum) like `buy_rows`, and on the way the unit
    prices `run` will read at each signal row (a buy's close and next open, a sell's next
    open), loaded in one pass where the loads do not wait for one another: `run` reads
    them one trade after another, each waiting for the last, and a backtest run after
    other work finds them in memory, not in the cache (a cache miss each, ~100 ns, three
    a trade). The checksum (their sum) is returned so the loads are not left out."""
    found, checksum = 0, 0
    warm = len(open_units) > 0
    last = len(side) - 1
    for i in range(len(side)):
        signal = side[i]
        found += signal == 1
        if warm and signal != 0 and i < last:
            checksum += open_units[i + 1] + close_units[i]
    rows = np.empty(found, dtype=np.int64)
    if found:
        found = 0
        for i in range(len(side)):
            if side[i] == 1:
                rows[found] = i
                found += 1
    return rows, checksum


@njit(cache=True)
def any_set(levels, rows):
    """Whether any of `rows` has a level (not NaN)."""
    k = 0
    while k < len(rows) and math.isnan(levels[rows[k]]):
        k += 1
    return k < len(rows)


@njit(cache=True)
def entry_size(
    cash, price, stop, has_stop, capital, risk, max_notional, paid_factor, fee_units,
    slippage_units,
):  # fmt: skip
    """sizing.limited_quantity in units (a single position, so nothing held yet): each
    bound from its float estimate, or where that cannot tell, from its double-double
    estimate (`wide`); -1 when neither can and the Decimal rule must."""
    if price <= 0 or cash <= 0:
        return 0
    quantity = floor_units(float(cash) * KEPT * 1e8 / (float(price) * paid_factor))
    if quantity < 0:
        quantity = wide.cash_quantity(cash, price, fee_units, slippage_units)
    if quantity <= 0:
        return quantity
    if risk != NO_LIMIT:
        if has_stop and 0 < stop < price:
            distance, times_distance = price - stop, 100.0
        else:
            distance, times_distance = price, 100.0 * NO_STOP_DISTANCE
        at_risk = floor_units(float(capital) * float(risk) / (times_distance * float(distance)))
        if at_risk < 0:
            at_risk = wide.risk_quantity(capital, risk, distance, times_distance)
        if at_risk < 0:
            return -1
        quantity = min(quantity, at_risk)
    if max_notional != NO_LIMIT:
        room = floor_units(float(max_notional) * 1e8 / float(price))
        if room < 0:
            room = wide.room_quantity(max_notional, price)
        if room < 0:
            return -1
        quantity = min(quantity, room)
    return quantity


@njit(cache=True)
def last_good(signal_at, good_for, count):
    """The last candle a limit placed on `signal_at`'s close may fill in (0: to the end)."""
    if good_for == 0:
        return count - 1
    return min(signal_at + good_for, count - 1)


@njit(cache=True, error_model="numpy")  # no zero-division checks: divisors are > 0
def run(
    side, open_units, close_units, high, low, close, stop, target, stop_units, target_units,
    limit, limit_units, good_for, fee_units, slippage_units, capital, risk, max_notional,
    paid_factor, capital_float, state, float_state, trades, equity,
):  # fmt: skip
    """Carry on the pass from `state`; returns DONE, NEED_SIZE (state[ASK_AT] is the signal
    to size) or TOO_LARGE (an amount past the ledger's range). `limit` (8-place prices,
    NaN for a market order; empty when no signal has one), `limit_units` and `good_for`
    are the signals' limit orders (`SignalFrame.limit`, `limit_candles`)."""
    count = len(side)
    start, cash, fees = state[START], state[CASH], state[FEES]
    made, refused, flat_from = state[TRADES], state[REFUSED], state[FLAT_FROM]
    pnl_sum = float_state[PNL_SUM]
    peak, drawdown = float_state[PEAK], float_state[DRAWDOWN]
    deeper, returns, before = float_state[DEEPER], float_state[RETURNS], float_state[LAST]
    has_limits = len(limit) > 0
    status = DONE
    while True:
        signal_at = start
        while signal_at < count and side[signal_at] != 1:
            signal_at += 1
        if signal_at + 1 >= count:
            break
        entry_at = signal_at + 1
        has_stop = not math.isnan(stop[signal_at])
        by_limit = has_limits and not math.isnan(limit[signal_at])
        if state[SIZED_AT] == signal_at:
            quantity = state[SIZED]
            state[SIZED_AT] = -1
        else:
            stop_at = stop_units[signal_at] if has_stop else 0  # read only where set
            size_price = limit_units[signal_at] if by_limit else close_units[signal_at]
            quantity = entry_size(
                cash, size_price, stop_at, has_stop, capital, risk, max_notional,
                paid_factor, fee_units, slippage_units,
            )  # fmt: skip
            if quantity < 0:
                state[ASK_AT] = signal_at
                status = NEED_SIZE
                break
        if by_limit:
            last = last_good(signal_at, good_for[signal_at], count)
            entry_at = -1
            for i in range(signal_at + 1, last + 1):
                if low[i] <= limit[signal_at]:
                    entry_at = i
                    break
            if entry_at < 0:
                if last + 1 >= count:
                    break  # it rests to the end: nothing else is bought
                start = last + 1  # expired when this candle opened
                continue
            entry_price = min(open_units[entry_at], limit_units[signal_at])
        else:
            entry_price = slipped(open_units[entry_at], slippage_units, True)
        if not fits(quantity, entry_price, 1e8):
            status = TOO_LARGE
            break
        notional = units_product(quantity, entry_price)
        entry_fee = units_product(notional, fee_units)
        if quantity <= 0 or notional + entry_fee > cash:
            refused += 1  # as the live bot's order would be
            start = entry_at
            continue
        held_cash = cash - notional - entry_fee
        flat = capital_float + pnl_sum if made else capital_float
        if flat_from < entry_at:  # the first pass's terms are known after the first value
            peak, drawdown, deeper, returns = figure_step(
                flat_from, flat, before, peak, drawdown, deeper, returns
            )
            before = flat
        for i in range(flat_from, entry_at):
            equity[i] = flat
        has_target = not math.isnan(target[signal_at])
        exit_at, reason = count - 1, END_OF_DATA
        resting, resting_last, by_exit_limit = -1, -1, False  # a sell signal's exit limit
        i = entry_at
        if not (has_stop or has_target or has_limits):  # only a sell signal ends it
            while i < count and side[i] != -1:
                i += 1
            if i + 1 < count:
                exit_at, reason = i + 1, EXIT
            i = count  # the same as the loop below gives without levels and limits
        while i < count:
            if resting >= 0 and i > resting_last:
                resting = -1  # expired when this candle opened
            if has_stop and low[i] <= stop[signal_at]:
                exit_at, reason = i, STOP_LOSS
                break
            if resting >= 0 and high[i] >= limit[resting]:
                exit_at, reason, by_exit_limit = i, EXIT, True
                break
            if has_target and high[i] >= target[signal_at]:
                exit_at, reason = i, TAKE_PROFIT
                break
            if resting < 0 and side[i] == -1:
                if has_limits and not math.isnan(limit[i]):
                    resting, resting_last = i, last_good(i, good_for[i], count)
                else:
                    if i + 1 < count:
                        exit_at, reason = i + 1, EXIT
                    break
            i += 1
        if by_exit_limit:
            exit_price = max(open_units[exit_at], limit_units[resting])
        elif reason == STOP_LOSS:
            exit_price = slipped(
                min(open_units[exit_at], stop_units[signal_at]), slippage_units, False
            )
        elif reason == TAKE_PROFIT:
            exit_price = max(open_units[exit_at], target_units[signal_at])
        elif reason == EXIT:
            exit_price = slipped(open_units[exit_at], slippage_units, False)
        else:
            exit_price = close_units[exit_at]
        if not fits(quantity, exit_price, 1e8):
            status = TOO_LARGE
            break
        exit_notional = units_product(quantity, exit_price)
        exit_fee = units_product(exit_notional, fee_units)
        pnl = exit_notional - notional - entry_fee - exit_fee
        held_float, quantity_float = to_float(held_cash), to_float(quantity)
        for i in range(entry_at, exit_at):
            value = held_float + quantity_float * close[i]
            equity[i] = value
            peak, drawdown, deeper, returns = figure_step(
                i, value, before, peak, drawdown, deeper, returns
            )
            before = value
        cash += pnl
        fees += entry_fee + exit_fee
        pnl_sum += to_float(pnl)
        if float(cash) >= TOO_BIG:
            status = TOO_LARGE
            break
        trades[made, 0], trades[made, 1] = entry_at, exit_at  # no row view: no reference count
        trades[made, 2], trades[made, 3] = entry_price, exit_price
        trades[made, 4], trades[made, 5] = quantity, entry_fee + exit_fee
        trades[made, 6], trades[made, 7] = pnl, reason
        made += 1
        flat_from = exit_at
        if reason == END_OF_DATA:
            break
        start = exit_at
    if status == DONE:
        flat = capital_float + pnl_sum if made else capital_float
        if flat_from < count:
            peak, drawdown, deeper, returns = figure_step(
                flat_from, flat, before, peak, drawdown, deeper, returns
            )
            before = flat
        for i in range(flat_from, count):
            equity[i] = flat
    state[START], state[CASH], state[FEES] = start, cash, fees
    state[TRADES], state[REFUSED], state[FLAT_FROM] = made, refused, flat_from
    float_state[PNL_SUM] = pnl_sum
    float_state[PEAK], float_state[DRAWDOWN] = peak, drawdown
    float_state[DEEPER], float_state[RETURNS], float_state[LAST] = deeper, returns, before
    return status


# Many signal sets at once, on both cores (numba's prange): each set is `run` on its own
# state, trade rows and equity, so its trades and totals are those of `simulate` to the
# unit; then each set's equity figures. Kept in this file on purpose: numba's disk cache
# of a function is invalidated by changes to its own file only, so a parallel kernel in
# another file would keep running an old `run` after `run` changed.


@njit(parallel=True, cache=True)
def run_many(
    pending, side, open_units, close_units, high, low, close, stop, target, stop_units,
    target_units, limit, limit_units, good_for, fee_units, slippage_units, capital, risk,
    max_notional, paid_factor, capital_float, states, float_states, trades, equity, statuses,
):  # fmt: skip
    """`core.run` for each set in `pending` (row k of side, states, trades, equity; of the
    level and limit arrays too when they have a row per set, else their single row), its
    status into statuses[k]."""
    for j in prange(len(pending)):
        k = pending[j]
        s = k if stop.shape[0] > 1 else 0
        t = k if target.shape[0] > 1 else 0
        m = k if limit.shape[0] > 1 else 0
        statuses[k] = run(
            side[k], open_units, close_units, high, low, close, stop[s], target[t],
            stop_units[s], target_units[t], limit[m], limit_units[m], good_for[m], fee_units,
            slippage_units, capital, risk, max_notional, paid_factor, capital_float,
            states[k], float_states[k], trades[k], equity[k],
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


__all__ = ["E8", "figures_many", "run", "run_many"]
