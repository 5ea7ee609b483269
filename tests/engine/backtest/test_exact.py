"""The core's integer arithmetic against the ledger's Decimal arithmetic, up to the extremes
of the ledger's range (int64 products would overflow there: the split must not)."""

import math
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from botdesk.db.types import MONEY_UNIT, from_units, to_units
from botdesk.engine import fill_rules
from botdesk.engine.backtest.exact import LIMIT, floor_units, slipped, to_float, units_product
from botdesk.engine.backtest.units import units_of
from botdesk.engine.frames import to_decimal

HIGHEST = LIMIT - 1  # 2**62 - 1 units, 46 billion
quantities = st.integers(0, HIGHEST)


def decimal_product(a: int, b: int) -> int:
    return to_units((from_units(a) * from_units(b)).quantize(MONEY_UNIT))


@settings(max_examples=3000, deadline=None)
@given(a=quantities, b=quantities)
def test_a_product_of_two_amounts_rounds_as_the_ledger(a, b):
    exact = a * b  # Python ints: no overflow
    if exact // 10**8 >= LIMIT:
        b = max(1, LIMIT * 10**8 // max(a, 1) - 1)  # bring the product into the range
    assert units_product(a, b) == decimal_product(a, b)


def test_products_at_the_edges_of_the_range():
    cases = [
        (HIGHEST, 10**8),  # the largest amount times 1
        (10**8, HIGHEST),
        (HIGHEST // 3, 3 * 10**8),
        (2**62 // 10**8 * 10**8 - 1, 10**8 - 1),
        (99_999_999, 99_999_999),  # the low parts' product at its largest
        (4_611_686_018_427, 99_999_999_999),  # whole parts of both, near 2**62 result
        (50_000_000, 1),  # exactly half a unit: half-even keeps 0
        (150_000_000, 1),  # 1.5 units: half-even goes to 2
        (250_000_000, 1),  # 2.5 units: half-even stays at 2
        (0, HIGHEST),
    ]
    for a, b in cases:
        assert a * b // 10**8 < LIMIT
        assert units_product(a, b) == decimal_product(a, b), (a, b)
    # int64 alone could not: a.b overflows 2**63 in every case but the small ones
    assert HIGHEST * 10**8 > 2**63


@settings(max_examples=3000, deadline=None)
@given(
    price=st.integers(1, HIGHEST // 2),
    bps=st.one_of(st.integers(0, 10**11), st.sampled_from([0, 1, 5 * 10**7, 10**8, 10**11])),
    buy=st.booleans(),
)
def test_slippage_rounds_as_the_fill_rules(price, bps, buy):
    expected = fill_rules.slipped(from_units(price), "buy" if buy else "sell", from_units(bps))
    assert slipped(price, bps, buy) == to_units(expected)


@settings(max_examples=3000, deadline=None)
@given(units=st.one_of(st.integers(-HIGHEST, HIGHEST), st.integers(2**53 - 5, 2**53 + 5)))
def test_an_amount_becomes_the_float_decimal_gives(units):
    assert to_float(units) == float(from_units(units))


@settings(max_examples=3000, deadline=None)
@given(numerator=st.integers(1, 10**30), denominator=st.integers(1, 10**30))
def test_a_floor_from_a_float_is_the_exact_floor_or_unknown(numerator, denominator):
    estimate = numerator / denominator  # correctly rounded: within 2**-53 relative
    answer = floor_units(estimate)
    assert answer == -1 or answer == numerator // denominator


def test_a_floor_near_an_integer_is_unknown():
    assert floor_units(1.0) == -1  # 0.99999999... or 1.0: the float cannot say
    assert floor_units(math.nextafter(2.0, 0)) == -1
    assert floor_units(2.5) == 2
    assert floor_units(2.0**53) == -1  # past what a float holds exactly


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=-4e10, max_value=4e10, allow_nan=False),
            st.decimals("-1000", "1000", places=9).map(float),  # ties at the 9th place
            st.sampled_from([0.123456785, 1.000000005, 2.5e-9, 0.5e-8, 1.5e-8, 123.456789125]),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_floats_become_the_units_to_decimal_gives(values):
    expected = [to_units(to_decimal(value)) for value in values]
    assert units_of(np.array(values)).tolist() == expected


def test_real_prices_become_their_units():
    prices = np.array([68061.06, 0.6225, 0.00001234, 123456789.12345678, 1e-8])
    assert units_of(prices).tolist() == [6806106000000, 62250000, 1234, 12345678912345678, 1]
    assert from_units(units_of(np.array([153.89]))[0]) == Decimal("153.89")
