"""What people type, read one way everywhere: text within a length, numbers within bounds.

Forms, the CLI and the API hand over what was typed (a string, or a number from JSON);
these functions give back the value, or raise the caller's error type (`refuse`) with a
message that names the field and the limit. Nothing is cut or rounded to fit, and no
number, however large or long, raises `decimal.InvalidOperation`.
"""

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from botdesk.db.types import MONEY_PLACES

Refuse = Callable[[str], Exception]
SHOWN = 32  # characters of a refused value repeated in the message


class Refused(ValueError):
    """What was typed cannot be used: `field: problem` (when no `refuse` type is given)."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def _refusal(refuse: Refuse | None, field: str, problem: str) -> Exception:
    return Refused(field, problem) if refuse is None else refuse(f"{field}: {problem}")


def shown(value: object) -> str:
    """A refused value as the message repeats it: at most SHOWN characters."""
    text = str(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 1]}…"


def plain(bound: Decimal) -> str:
    """A bound as people write it: 0.00000001 and 1000000000, not 1E-8 and 1E+9."""
    return format(bound.normalize(), "f")


def text(
    value: object,
    *,
    field: str,
    most: int,
    refuse: Refuse | None = None,
    required: bool = True,
) -> str:
    """The text stripped of surrounding spaces; refused when longer than `most` characters
    (or empty when `required`). Not a string counts as nothing typed."""
    typed = value.strip() if isinstance(value, str) else ""
    if not typed and required:
        raise _refusal(refuse, field, "required")
    if len(typed) > most:
        raise _refusal(refuse, field, f"at most {most} characters ({len(typed)} given)")
    return typed


def number(
    value: object,
    *,
    field: str,
    low: Decimal,
    high: Decimal,
    places: int = MONEY_PLACES,
    unit: str = "",
    refuse: Refuse | None = None,
) -> Decimal:
    """The number typed, exactly, between `low` and `high` with at most `places` decimals.
    `value` is what was typed (a string) or a JSON number; True/False are not numbers."""
    written = "" if value is None or isinstance(value, bool) else str(value).strip()
    if not written:
        raise _refusal(refuse, field, "a number is required")
    try:
        amount = Decimal(written)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise _refusal(refuse, field, f"{shown(written)!r} is not a number")
    if not low <= amount <= high:
        suffix = f" {unit}" if unit else ""
        between = f"must be between {plain(low)} and {plain(high)}{suffix}"
        raise _refusal(refuse, field, f"{between}, not {shown(written)}")
    # Within the bounds the quantize below has digits to spare: it cannot raise.
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        if places == 0:
            raise _refusal(refuse, field, f"must be a whole number, not {shown(written)}")
        raise _refusal(refuse, field, f"at most {places} decimals")
    return amount


def whole_number(
    value: object, *, field: str, low: int, high: int, unit: str = "", refuse: Refuse | None = None
) -> int:
    """A whole number typed, between `low` and `high` (1.0 is 1; 1.5 is refused)."""
    amount = number(
        value, field=field, low=Decimal(low), high=Decimal(high), places=0, unit=unit, refuse=refuse
    )
    return int(amount)
