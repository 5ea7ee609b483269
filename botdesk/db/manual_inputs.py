"""What an operator types into a manual order, read exactly: amounts (above 0, at most 8
decimals), choices, the reason, the time in force, and the levels a long's stop and
take-profit must respect. Each refusal is a `ManualOrderRefused` naming the field; the
desk, the API and the engine's handlers read them alike (`botdesk.db.manual_orders`)."""

from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

from sqlmodel import Session

from botdesk.db import candles as candle_store
from botdesk.db import commands, typed
from botdesk.db.models import OrderType
from botdesk.db.types import MAX_AMOUNT, MONEY_UNIT, utcnow

ORDER_TYPES = (OrderType.MARKET.value, OrderType.LIMIT.value)
SIZES = ("quote", "quantity", "risk")  # a quote amount, a quantity, the bot's risk sizing
TIME_IN_FORCE = ("GTC", "GTD")  # good till cancelled, good till a time (`expires_at`)
HUNDRED = Decimal(100)


class ManualOrderRefused(ValueError):
    """A manual order that cannot be queued: `status` says how the API answers it (400 bad
    input, 404 no such row, 409 not now), the message what to change."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid_body"):
        super().__init__(message)
        self.status = status
        self.code = {403: "forbidden", 404: "not_found"}.get(status, code)


def invalid(message: str) -> ManualOrderRefused:
    return ManualOrderRefused(message, 400)


def exact_amount(value: object, field: str, *, high: Decimal = MAX_AMOUNT) -> Decimal:
    amount = typed.number(value, field=field, low=Decimal(0), high=high, refuse=invalid)
    if amount <= 0:
        raise invalid(f"{field}: must be above 0")
    return amount


def optional_amount(value: object, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return exact_amount(value, field)


def choice(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise invalid(f"{field}: one of {', '.join(allowed)}, not {typed.shown(value)!r}")
    return value


def clean_reason(reason: object) -> str:
    try:
        return commands.clean_reason(reason if isinstance(reason, str) else None)
    except commands.BadReason as error:
        raise invalid(str(error)) from None


def checked_limit_price(order_type: str, price: object) -> Decimal | None:
    limit_price = optional_amount(price, "price")
    if order_type == OrderType.LIMIT and limit_price is None:
        raise invalid("price: a limit order needs its price")
    if order_type == OrderType.MARKET and limit_price is not None:
        raise invalid("price: a market order takes no price (choose limit)")
    return limit_price


def moment(value: object) -> datetime | None:
    """A time as the API (an aware datetime) or the desk (text, UTC unless it says) gives it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise invalid(
                f"expires_at: {typed.shown(value)!r} is not a time like 2024-10-28 12:00"
            ) from None
    if not isinstance(value, datetime):
        raise invalid("expires_at: not a time")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def market_time(session: Session, symbol: str) -> datetime:
    """Now on the market's clock: the close of the symbol's newest 1m candle (a replay's
    time during a replay), or the wall clock before any candle."""
    latest = candle_store.latest_open_ms(session=session, symbol=symbol)
    if latest is None:
        return utcnow()
    return datetime.fromtimestamp((latest + 60_000) / 1000, UTC)


def checked_good_till(
    session: Session, symbol: str, order_type: str, time_in_force: object, expires_at: object
) -> dict[str, str | None]:
    """The time in force of a limit: GTC, or GTD until `expires_at` (after the market's now)."""
    chosen = time_in_force.upper() if isinstance(time_in_force, str) else time_in_force
    chosen = choice(chosen, "time_in_force", TIME_IN_FORCE)
    until = moment(expires_at)
    if chosen == "GTC":
        if until is not None:
            raise invalid("expires_at: only a good-till-time (GTD) order expires")
        return {"time_in_force": "GTC"}
    if order_type != OrderType.LIMIT:
        raise invalid("time_in_force: GTD is for a limit order (a market order fills at once)")
    if until is None:
        raise invalid("expires_at: a GTD order needs the time it expires")
    now = market_time(session, symbol)
    if until <= now:
        raise invalid(
            f"expires_at: {until:%Y-%m-%d %H:%M} UTC is not after the market's time "
            f"{now:%Y-%m-%d %H:%M} UTC"
        )
    return {"time_in_force": "GTD", "expires_at": until.isoformat()}


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def check_levels(price: Decimal | None, stop: Decimal | None, take_profit: Decimal | None):
    """A long's stop below the price and take-profit above it (else it would exit at once)."""
    if stop is not None and take_profit is not None and stop >= take_profit:
        raise invalid(f"stop {stop} must be below the take-profit {take_profit}")
    if price is None:
        return
    if stop is not None and stop >= price:
        raise invalid(f"stop: {stop} is not below the price {price} (it would sell at once)")
    if take_profit is not None and take_profit <= price:
        raise invalid(
            f"take_profit: {take_profit} is not above the price {price} (it would sell at once)"
        )


def quantity_for(quote: Decimal, price: Decimal) -> Decimal:
    """The quantity a quote amount buys at `price`, rounded down to 8 places."""
    return (quote / price).quantize(MONEY_UNIT, rounding=ROUND_DOWN)


def part_of(quantity: Decimal, percent: Decimal) -> Decimal:
    """`percent` % of a quantity, rounded down to 8 places (never more than it holds)."""
    return (quantity * percent / HUNDRED).quantize(MONEY_UNIT, rounding=ROUND_DOWN)


def good_till_of(params: dict) -> tuple[str, datetime | None]:
    """A command's time in force as the order stores it: ("gtc", None) or ("gtd", when)."""
    if params.get("time_in_force") == "GTD":
        return "gtd", datetime.fromisoformat(params["expires_at"])
    return "gtc", None


def amount_or_none(text: str | None) -> Decimal | None:
    """A stored param back as an exact Decimal."""
    return None if text is None else Decimal(text)
