"""Prices as integer units of 1e-8, the ledger's own, for the compiled backtest core.

`units_of` gives, for a whole float array at once, exactly what `to_decimal` gives one
value at a time: the value's shortest decimal (its repr) rounded half-even to 8 places.
A float times 1e8 is within 1.5 ulps of that decimal times 1e8, so wherever it is further
than that from a half-way point (x.5) its nearest integer is the answer; the rare values
near a half-way point (a repr ending in 5 at the 9th place) go through `to_decimal`
itself. Candle prices read from 8-place decimals are never near one.
"""

import math

import numpy as np
from numba import njit

from botdesk.db.types import MONEY_PLACES, to_units
from botdesk.engine.frames import to_decimal

SCALE = 10**MONEY_PLACES
SAFE = 2.0**52  # floats below it hold every integer exactly
LIMIT = 2**62  # the most an amount may reach in the core (the ledger stores up to 2**63)
_MARGIN = 2.0**-48  # > 1.5 ulps of a float, relative


class AmountOutOfRange(ValueError):
    """An amount beyond what the ledger can hold exactly."""


def units_of(values: np.ndarray) -> np.ndarray:
    """Each finite float's `to_decimal` value in units (int64); NaN gives 0 (callers keep
    their own mask of what is set). Raises AmountOutOfRange past the ledger's range."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    units = np.empty(len(values), dtype=np.int64)
    unsure = _nearest_units(values, units)
    for index in np.flatnonzero(unsure):
        units[index] = exact_units(float(values[index]))
    return units


@njit(cache=True)
def _nearest_units(values: np.ndarray, units: np.ndarray) -> np.ndarray:
    """The nearest integer of each value x 1e8 where it is sure (module docstring); marks
    the others, which the caller converts through `to_decimal`."""
    unsure = np.zeros(len(values), dtype=np.bool_)
    for i in range(len(values)):
        scaled = values[i] * 1e8
        units[i] = 0
        if not math.isfinite(scaled):
            continue
        size = abs(scaled)
        if size >= SAFE or abs(scaled - math.floor(scaled) - 0.5) <= size * _MARGIN:
            unsure[i] = True
        else:
            units[i] = math.floor(scaled + 0.5)
    return unsure


def exact_units(value: float) -> int:
    units = to_units(to_decimal(value))
    if abs(units) >= LIMIT:
        raise AmountOutOfRange(f"{value:g} is beyond the ledger's range")
    return units
