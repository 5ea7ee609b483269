"""Prices as integer units of 1e-8, the ledger's own, for the compiled backtest core.

`units_of` gives, for a whole float array at once, exactly what `to_decimal` gives one
value at a time: the value's shortest decimal (its repr) rounded half-even to 8 places.
A float times 1e8 is within 1.5 ulps of that decimal times 1e8, so wherever it is further
than that from a half-way point (x.5) its nearest integer is the answer; the rare values
near a half-way point (a repr ending in 5 at the 9th place) go through `to_decimal`
itself. Candle prices read from 8-place decimals are never near one.
"""

import numpy as np

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
    values = np.asarray(values, dtype=np.float64)
    scaled = values * float(SCALE)
    finite = np.isfinite(scaled)
    with np.errstate(invalid="ignore"):
        near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= np.abs(scaled) * _MARGIN
        sure = finite & ~near_half & (np.abs(scaled) < SAFE)
    units = np.where(sure, np.rint(np.where(sure, scaled, 0.0)), 0.0).astype(np.int64)
    for index in np.flatnonzero(finite & ~sure):
        units[index] = exact_units(float(values[index]))
    return units


def exact_units(value: float) -> int:
    units = to_units(to_decimal(value))
    if abs(units) >= LIMIT:
        raise AmountOutOfRange(f"{value:g} is beyond the ledger's range")
    return units
