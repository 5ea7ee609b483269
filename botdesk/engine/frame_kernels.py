"""Compiled single passes behind `SignalFrame.build` and the signal check (numba): one
loop over the candles instead of a numpy pass (and a fresh array) per step, which on a
long history cost more than the backtest that reads the frame."""

import math

import numpy as np
from numba import njit

BAD_SIDE, BAD_CONFIDENCE, BAD_STOP, BAD_TARGET = 1, 2, 3, 4


def assemble(buy, sell, confidence, stop, take_profit):
    """(side, confidence, stop, take-profit) of `SignalFrame.build`: a row both buy and
    sell is a sell; confidence clipped to 0..1 on signal rows and 0 elsewhere; levels kept
    on buy rows only (NaN elsewhere; an empty `stop` or `take_profit` means none)."""
    count = len(buy)
    side = np.empty(count, dtype=np.int8)
    clipped = np.empty(count, dtype=np.float64)
    stops, targets = np.full(count, np.nan), np.full(count, np.nan)
    _assemble(buy, sell, confidence, stop, take_profit, side, clipped, stops, targets)
    return side, clipped, stops, targets


@njit(cache=True)
def _assemble(buy, sell, confidence, stop, take_profit, side, clipped, stops, targets):
    # branch-free where it can be (the compiler vectorizes it); the levels' loops only
    # when the strategy gave levels, else the caller's NaN fill stands
    count = len(buy)
    for i in range(count):
        bought, sold = np.int8(buy[i]), np.int8(sell[i])
        value = bought - sold - bought * sold  # both: a sell
        side[i] = value
        level = confidence[i]  # clipped; NaN stays NaN (the check refuses it)
        level = 0.0 if level < 0.0 else level
        level = 1.0 if level > 1.0 else level
        clipped[i] = level if value != 0 else 0.0
    if len(stop) > 0:
        for i in range(count):
            stops[i] = stop[i] if side[i] == 1 else np.nan
    if len(take_profit) > 0:
        for i in range(count):
            targets[i] = take_profit[i] if side[i] == 1 else np.nan


@njit(cache=True)
def first_bad_row(side, confidence, stop, take_profit, close):
    """(problem, row) of the first row a strategy got wrong, (0, -1) when none; problems
    are checked in the order BAD_SIDE, BAD_CONFIDENCE, BAD_STOP, BAD_TARGET over the whole
    frame, as `safe._check` reports them."""
    count = len(side)
    first = np.full(5, -1, dtype=np.int64)
    for i in range(count):
        value = side[i]
        if value != 0 and value != 1 and value != -1:
            if first[BAD_SIDE] < 0:
                first[BAD_SIDE] = i
            continue
        if value != 0:
            level = confidence[i]
            if not (math.isfinite(level) and 0.0 <= level <= 1.0) and first[BAD_CONFIDENCE] < 0:
                first[BAD_CONFIDENCE] = i
        if value == 1:
            if not math.isnan(stop[i]) and not stop[i] < close[i] and first[BAD_STOP] < 0:
                first[BAD_STOP] = i
            if (
                not math.isnan(take_profit[i])
                and not take_profit[i] > close[i]
                and first[BAD_TARGET] < 0
            ):
                first[BAD_TARGET] = i
    for problem in range(1, 5):
        if first[problem] >= 0:
            return problem, first[problem]
    return 0, -1
