"""The double-double floors (`wide`) against the Decimal sizing they stand in for: each
answer is the Decimal rule's own or -1 (ask it), and -1 is rare where the plain float
estimate is often unsure (large quantities); an exact whole number of units is -1."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from botdesk.db.types import from_units, to_units
from botdesk.engine.backtest import wide
from botdesk.engine.backtest.exact import floor_units
from botdesk.engine.sizing import entry_quantity, risk_quantity

amounts = st.integers(1, 2**61)
prices = st.one_of(st.integers(1, 10**16), st.integers(10**11, 10**14))  # up to 1e8 quote
fees = st.sampled_from([0, 7500, 10**5, 99_999_999, 12_345])
slippages = st.sampled_from([0, 10**8, 25 * 10**7, 10**11 - 1, 123_456_789])


def _decimal_cash(cash, price, fee, slippage) -> int:
    quantity = entry_quantity(
        from_units(cash), from_units(price), fee_rate=from_units(fee),
        slippage_bps=from_units(slippage),
    )  # fmt: skip
    return to_units(quantity)


@settings(max_examples=4000, deadline=None)
@given(cash=amounts, price=prices, fee=fees, slippage=slippages)
def test_an_all_cash_quantity_is_the_decimal_rules_or_unknown(cash, price, fee, slippage):
    answer = wide.cash_quantity(cash, price, fee, slippage)
    if answer != -1:
        assert answer == _decimal_cash(cash, price, fee, slippage)


@settings(max_examples=4000, deadline=None)
@given(
    capital=amounts,
    risk=st.integers(1, 100 * 10**8),
    price=prices,
    stop_share=st.one_of(st.none(), st.floats(0.001, 0.999)),
)
def test_a_risk_quantity_is_the_decimal_rules_or_unknown(capital, risk, price, stop_share):
    stop = None if stop_share is None else max(1, min(price - 1, int(price * stop_share)))
    if stop is None or not 0 < stop < price:
        answer = wide.risk_quantity(capital, risk, price, 5.0)
        stop = None
    else:
        answer = wide.risk_quantity(capital, risk, price - stop, 100.0)
    expected = risk_quantity(
        capital=from_units(capital), risk_percent=from_units(risk), price=from_units(price),
        stop=None if stop is None else from_units(stop),
    )  # fmt: skip
    if answer != -1:
        assert answer == to_units(expected)


@settings(max_examples=3000, deadline=None)
@given(room=amounts, price=prices)
def test_a_room_quantity_is_the_decimal_rules_or_unknown(room, price):
    answer = wide.room_quantity(room, price)
    expected = (from_units(room) / from_units(price)).quantize(Decimal("1e-8"), "ROUND_DOWN")
    if answer != -1:
        assert answer == to_units(max(expected, Decimal(0)))


def test_large_quantities_are_known_where_the_floats_cannot_tell():
    """A billion of cash at BTC prices: the float estimate is unsure for a few % of the
    entries, the double-double for none of these."""
    unsure_floats = unsure_wide = 0
    for step in range(20_000):
        cash, price = 10**17 + step * 7_919_113, 6_379_374_000_000 + step * 1_234_567
        estimate = float(cash) * 0.995 * 1e8 / (float(price) * 1.001)
        unsure_floats += floor_units(estimate) == -1
        answer = wide.cash_quantity(cash, price, 10**5, 0)
        unsure_wide += answer == -1
        if step % 500 == 0 or answer == -1:
            assert answer in (-1, _decimal_cash(cash, price, 10**5, 0))
    assert unsure_floats > 200
    assert unsure_wide == 0


def test_an_exact_whole_number_of_units_is_left_to_the_decimal_rule():
    # 1000 x 0.995 / 995 is exactly 1; 10000 x 1 % / (5 % of 2000) is exactly 1
    assert wide.cash_quantity(1000 * 10**8, 995 * 10**8, 0, 0) == -1
    assert wide.risk_quantity(10**12, 10**8, 2000 * 10**8, 5.0) == -1
    assert wide.room_quantity(4000 * 10**8, 2000 * 10**8) == -1
