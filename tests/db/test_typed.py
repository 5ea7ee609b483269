"""What people type, read one way: numbers exactly or refused with the field and the
bound (never decimal.InvalidOperation, however large), text within its length."""

from decimal import Decimal

import pytest

from botdesk.db import typed
from botdesk.db.types import MAX_AMOUNT, MONEY_MAX, MONEY_UNIT, to_units


class FormError(ValueError):
    pass


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1e30", "must be between 0.00000001 and 1000000000 USDT, not 1e30"),
        (1e30, "must be between 0.00000001 and 1000000000 USDT, not 1e+30"),
        ("1e999999999999999999", "must be between 0.00000001 and 1000000000 USDT, not 1e99999"),
        ("9" * 500, "not " + "9" * 31 + "…"),
        ("1e-99999999999", "must be between 0.00000001"),
        ("-3", "must be between 0.00000001 and 1000000000 USDT, not -3"),
        ("0.000000015", "at most 8 decimals"),
        ("NaN", "'NaN' is not a number"),
        ("-Infinity", "'-Infinity' is not a number"),
        ("12,5", "'12,5' is not a number"),
        ("", "a number is required"),
        (None, "a number is required"),
        (True, "a number is required"),
    ],
)
def test_an_amount_out_of_bounds_is_refused_with_the_field_and_the_bound(value, problem):
    with pytest.raises(typed.Refused) as refused:
        typed.number(value, field="capital", low=MONEY_UNIT, high=MAX_AMOUNT, unit="USDT")
    assert refused.value.field == "capital" and problem in refused.value.problem
    assert str(refused.value) == f"capital: {refused.value.problem}"


def test_an_amount_within_bounds_is_kept_exactly_and_fits_the_money_column():
    for written in (" 1000000000 ", "0.00000001", "2500.5", 12, "1E+3"):
        amount = typed.number(written, field="capital", low=MONEY_UNIT, high=MAX_AMOUNT)
        assert amount == Decimal(str(written).strip()) and abs(amount) <= MONEY_MAX
        to_units(amount)  # stored without rounding
    assert MAX_AMOUNT * 90 < MONEY_MAX  # sums over many bots still fit the BIGINT


def test_the_callers_error_type_carries_the_message():
    with pytest.raises(FormError, match=r"^expiry: must be a whole number, not 1\.5$"):
        typed.whole_number("1.5", field="expiry", low=1, high=3650, refuse=FormError)
    assert typed.whole_number("30.0", field="expiry", low=1, high=3650) == 30


@pytest.mark.parametrize(
    ("value", "expected"),
    [("  a name  ", "a name"), ("x" * 100, "x" * 100), (None, ""), (42, "")],
)
def test_text_within_its_length_is_kept_stripped(value, expected):
    assert typed.text(value, field="name", most=100, required=False) == expected


def test_text_too_long_or_missing_is_refused_with_the_limit():
    with pytest.raises(typed.Refused, match=r"^name: at most 100 characters \(150 given\)$"):
        typed.text("n" * 150, field="name", most=100)
    with pytest.raises(typed.Refused, match=r"^name: required$"):
        typed.text("   ", field="name", most=100)
