"""Column types that keep money exact and time in UTC on SQLite and PostgreSQL alike.

Money, prices and quantities are Decimals with at most 8 decimal places (Binance's own
precision), stored as integer units of 1e-8. Sums in SQL are then exact on both databases,
and nothing passes through a float.
"""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

MONEY_PLACES = 8
MONEY_UNIT = Decimal(1).scaleb(-MONEY_PLACES)  # Decimal("1E-8")
_SCALE = 10**MONEY_PLACES
MONEY_MAX = Decimal(2**63 - 1).scaleb(-MONEY_PLACES)  # what a BIGINT of units holds (~92.2e9)
# The most any one amount a person types may be (capital, limits, prices): far below
# MONEY_MAX, so sums over many bots and positions still fit the column.
MAX_AMOUNT = Decimal(10**9)
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


class MoneyPrecisionError(ValueError):
    """A value with more than 8 decimal places was about to be stored."""


def to_units(value: Decimal | int | str) -> int:
    """Exact integer units of 1e-8; refuses floats and values that would need rounding."""
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, never float")
    amount = Decimal(value)
    units = amount.scaleb(MONEY_PLACES)
    if units != units.to_integral_value():
        raise MoneyPrecisionError(f"{amount} has more than {MONEY_PLACES} decimal places")
    return int(units)


def from_units(units: int) -> Decimal:
    return Decimal(int(units)).scaleb(-MONEY_PLACES)


class Money(TypeDecorator):
    """Decimal stored as BIGINT units of 1e-8 (max about 92 billion)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_units(value)

    def process_result_value(self, value, dialect):
        return None if value is None else from_units(value)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes; naive values are refused so local time never sneaks in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: botdesk stores UTC, pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def quantize(value: Decimal) -> Decimal:
    """Round half-even to 8 places, the one rounding the ledger applies."""
    return Decimal(value).quantize(MONEY_UNIT)
