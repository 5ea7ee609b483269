"""How money and quantities read wherever a person reads them (the desk, command results):
prices with two decimals and thousands separators, quantities with their significant
decimals (up to 8), never in exponent form."""

from decimal import Decimal


def money_text(amount: Decimal | None, unit: str = "USDT", places: int = 2) -> str:
    if amount is None:
        return "—"
    return f"{amount:,.{places}f} {unit}".strip()


def quantity_text(amount: Decimal | None) -> str:
    if amount is None:
        return "—"
    text = f"{amount:,.8f}".rstrip("0").rstrip(".")
    return text or "0"
