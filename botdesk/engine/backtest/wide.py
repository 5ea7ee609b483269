"""Floors of sizing quotients to about 100 bits, compiled (double-double arithmetic), for
the entries whose plain float estimate cannot tell their floor (`exact.floor_units`).

A number is a pair of floats (hi, lo) with value hi + lo and |lo| <= ulp(hi)/2; sums
and products are exact by the classic error-free transformations (Knuth's two-sum,
Dekker's split product), so each operation below errs by at most about 2**-104 of its
result, and a quotient of a few products by less than 2**-100. Decimal's sizing rounds
at 28 significant digits (2**-90.7 each time, at most four times): within 2**-88.6 of
the exact quotient. So when no integer lies within 2**-85 of the estimate (relative),
the estimate, the exact quotient and Decimal's all have the same floor. Otherwise (an
exact or nearly exact whole number of units) -1: the Decimal rule decides.
"""

import math

from numba import njit

SPLIT = 134217729.0  # 2**27 + 1
WINDOW = 2.0**-85
BELOW = 2.0**52  # floors up to here: hi's ulp is at most 1/2, so |lo| < 1/4


@njit(cache=True, inline="always")
def two_sum(a, b):
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


@njit(cache=True, inline="always")
def quick_sum(a, b):
    s = a + b
    return s, b - (s - a)


@njit(cache=True, inline="always")
def two_product(a, b):
    p = a * b
    t = SPLIT * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    t = SPLIT * b
    b_hi = t - (t - b)
    b_lo = b - b_hi
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


@njit(cache=True, inline="always")
def of_int(n):
    """An int64 below 2**62 as an exact pair."""
    hi = float(n)
    return hi, float(n - int(hi))


@njit(cache=True)
def times(a_hi, a_lo, b_hi, b_lo):
    p, e = two_product(a_hi, b_hi)
    e += a_hi * b_lo + a_lo * b_hi
    return quick_sum(p, e)


@njit(cache=True)
def divided(a_hi, a_lo, b_hi, b_lo):
    q1 = a_hi / b_hi
    p, e = times(q1, 0.0, b_hi, b_lo)
    r_hi, r_lo = two_sum(a_hi, -p)
    r_lo += a_lo - e
    r_hi, r_lo = quick_sum(r_hi, r_lo)
    q2 = r_hi / b_hi
    p, e = times(q2, 0.0, b_hi, b_lo)
    s_hi, s_lo = two_sum(r_hi, -p)
    s_lo += r_lo - e
    q3 = (s_hi + s_lo) / b_hi
    q1, q2 = quick_sum(q1, q2)
    return two_sum_pair(q1, q2, q3)


@njit(cache=True, inline="always")
def two_sum_pair(hi, lo, x):
    s, e = two_sum(hi, x)
    return quick_sum(s, e + lo)


@njit(cache=True)
def sure_floor(hi, lo):
    """floor(v) for the quotient v estimated by (hi, lo) as the module docstring says, or
    -1 when an integer is too close to tell (or the quotient is too large)."""
    if not hi < BELOW:
        return -1
    if hi + lo <= 0.0:
        return 0
    whole = math.floor(hi)
    if whole == hi:  # |lo| < 1/4: the floor is hi or hi - 1, the distances exact
        if lo >= 0.0:
            below, above = lo, 1.0 - lo
        else:
            whole -= 1.0
            below, above = 1.0 + lo, -lo
    else:
        below, above = (hi - whole) + lo, (whole + 1.0 - hi) - lo
    if min(below, above) <= hi * WINDOW:
        return -1
    return int(whole)


@njit(cache=True)
def cash_quantity(cash, price, fee_units, slippage_units):
    """The floor of cash x 0.995 / (price x (1 + fee) x (1 + slippage)) in units
    (`sizing.entry_quantity`), or -1: cash x 995e25 / (price (1e8 + fee)(1e12 + bps))."""
    n_hi, n_lo = of_int(cash)
    n_hi, n_lo = times(n_hi, n_lo, 995.0, 0.0)
    n_hi, n_lo = times(n_hi, n_lo, 1e13, 0.0)
    n_hi, n_lo = times(n_hi, n_lo, 1e12, 0.0)
    d_hi, d_lo = of_int(price)
    d_hi, d_lo = times(d_hi, d_lo, float(10**8 + fee_units), 0.0)
    d_hi, d_lo = times(d_hi, d_lo, float(10**12 + slippage_units), 0.0)
    return sure_floor(*divided(n_hi, n_lo, d_hi, d_lo))


@njit(cache=True)
def risk_quantity(capital, risk, distance, times_distance):
    """The floor of capital x risk % / distance in units (`sizing.risk_quantity`), or -1:
    capital x risk / (times_distance x distance), times_distance 100 for a stop's
    distance in units, 5 for the price (the 5 % assumed distance)."""
    n_hi, n_lo = of_int(capital)
    r_hi, r_lo = of_int(risk)
    n_hi, n_lo = times(n_hi, n_lo, r_hi, r_lo)
    d_hi, d_lo = of_int(distance)
    d_hi, d_lo = times(d_hi, d_lo, times_distance, 0.0)
    return sure_floor(*divided(n_hi, n_lo, d_hi, d_lo))


@njit(cache=True)
def room_quantity(max_notional, price):
    """The floor of max_notional / price in units, or -1: max_notional x 1e8 / price."""
    n_hi, n_lo = of_int(max_notional)
    n_hi, n_lo = times(n_hi, n_lo, 1e8, 0.0)
    d_hi, d_lo = of_int(price)
    return sure_floor(*divided(n_hi, n_lo, d_hi, d_lo))
