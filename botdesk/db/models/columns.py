"""Column helpers every table module uses: money, UTC times, text, a CHECK over a vocabulary."""

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Text
from sqlmodel import Field

from botdesk.db.types import Money, UTCDateTime, utcnow


def check_in(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def money_column(nullable: bool = False, default: Decimal | None = None):
    return Field(default=default, sa_type=Money, nullable=nullable)


def time_column(nullable: bool = True, index: bool = False):
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def text_column(nullable: bool = True):
    return Field(default=None, sa_type=Text, nullable=nullable)
