"""Exact money arithmetic on int64 units of 1e-8, compiled (numba), for the backtest core.

Each function gives to the last unit what the ledger's Decimal arithmetic gives:

- `units_product(a, b)`: quantize(a x b) half-even, for two 8-place amounts (a quantity
  times a price is a notional; a notional times the fee rate is a fee). The product of
  two int64 amounts overflows int64, so it is split at 1e8: with a = ah.1e8 + al and
  b = bh.1e8 + bl, a.b / 1e8 = ah.bh.1e8 + ah.bl + al.bh + al.bl / 1e8, each part within
  int64 while the result is (al.bl < 1e16).
- `slipped(price, bps_units, buy)`: quantize(price x (1 +/- bps / 10000)) half-even, the
  fill rules' slippage; the factor has 12 places, so the product is split at 1e12.
- `to_float(units)`: the amount as the nearest float, as float(Decimal) gives it (for the
  equity curve and the figures, which are floats).
- `floor_units(x)`: the floor of a positive quotient from its float estimate `x`, or -1
  when the float cannot tell (see its docstring): sizing divides, and the core asks the
  Decimal sizing itself for the rare entries where -1 comes back.

Amounts are nonnegative and stay below `LIMIT` (2**62 units, 46 billion): the core
checks a product's size with floats before it multiplies and stops with an error past it.
"""

import math

from numba import njit

E4, E8, E12 = 10**4, 10**8, 10**12
HALF_E8, HALF_E12 = E8 // 2, E12 // 2
LIMIT = 2**62
TOO_BIG = float(LIMIT) * 0.5  # a float estimate past this might not fit: refuse
FLOAT_TOLERANCE = 2.0**-47  # relative; 4x what sizing's float estimates can err (2**-49)
FLOAT_EXACT = 2.0**52
SAFE_INT = 2**53


@njit(cache=True, inline="always")
def half_even(quotient: int, remainder: int, half: int) -> int:
    """quotient + remainder/(2.half) rounded half-even (0 <= remainder < 2.half)."""
    if remainder > half or (remainder == half and quotient % 2 == 1):
        return quotient + 1
    return quotient


@njit(cache=True, inline="always")
def split_product(a: int, b: int) -> tuple[int, int]:
    """a.b as (high, low) with a.b = high.1e8 + low and 0 <= low < 1e8 (a, b >= 0)."""
    ah, al = a // E8, a % E8
    bh, bl = b // E8, b % E8
    low = al * bl
    return ah * bh * E8 + ah * bl + al * bh + low // E8, low % E8


@njit(cache=True, inline="always")
def fits(a: int, b: int, scale: float) -> bool:
    """Whether a.b / scale stays well inside the ledger's range."""
    return float(a) * float(b) / scale < TOO_BIG


@njit(cache=True)
def units_product(a: int, b: int) -> int:
    """quantize(a x b) half-even, in units (a, b >= 0 amounts in units)."""
    high, low = split_product(a, b)
    return half_even(high, low, HALF_E8)


@njit(cache=True)
def slipped(price: int, bps_units: int, buy: bool) -> int:
    """The price moved against the trader by the slippage (bps in units of 1e-8 bps)."""
    if bps_units == 0:
        return price
    factor = E12 + bps_units if buy else E12 - bps_units  # 1 +/- bps/1e4, in 1e-12
    whole, part = price // E12, price % E12
    high, low = split_product(part, factor)  # part.factor = high.1e8 + low
    quotient = whole * factor + high // E4
    return half_even(quotient, (high % E4) * E8 + low, HALF_E12)


@njit(cache=True)
def to_float(units: int) -> float:
    """units / 1e8 correctly rounded. Below 2**53 both are exact floats and one division
    rounds once. Above, units = h.1e8 + l and h + fl(l / 1e8) is h + l/1e8 within 2**-54,
    while the rounding's halfway points lie further than that from h + l/1e8 (at least
    2**(e-53)/1e8 for a sum in [2**e, 2**(e+1)), e >= 26, never on one): the same float."""
    if -SAFE_INT < units < SAFE_INT:
        return units / 1e8
    return float(units // E8) + (units % E8) / 1e8


@njit(cache=True)
def floor_units(x: float) -> int:
    """floor(v) for a positive exact value v whose float estimate is `x`, with
    |x - v| <= v.2**-49: when no integer lies within x.2**-47 of x, v and x have the same
    floor (and so has v perturbed by Decimal's 28-digit rounding, 1e-27 relative).
    -1 when an integer is that close (or x is too large to tell): ask the exact sizing."""
    if not x < FLOAT_EXACT:
        return -1
    if x <= 0.0:
        return 0
    low = math.floor(x * (1.0 - FLOAT_TOLERANCE))
    if low != math.floor(x * (1.0 + FLOAT_TOLERANCE)):
        return -1
    return int(low)
