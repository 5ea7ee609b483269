"""Manual orders: an operator's force entry, exit (whole or part), cancel, and new stop,
take-profit or trailing distance, each checked here and queued as an engine command.

The desk's panel, the REST API and the engine's handlers read the same rules from this
module: what was typed is checked (a clear `ManualOrderRefused` naming the field, nothing
written), then one command row and its audit row are inserted in the caller's
transaction. The engine carries each out through the order path (kill switch, dead man's
switch, risk checks; exits always pass the risk limits) and checks the market again.

Command kinds and their params (amounts as strings, exact):
- `order.entry` on "bot:<id>": type market|limit, price (limit), size quote|quantity|risk,
  amount (quote, quantity), stop, take_profit, time_in_force GTC|GTD and expires_at (GTD,
  ISO 8601 UTC), reason;
- `position.close` on "position:<id>": quantity or percent (neither: all of it), type
  market|limit, price (limit), time_in_force and expires_at (limit), reason;
- `order.cancel` on "order:<id>": reason;
- `position.protect` on "position:<id>": any of stop, take_profit, trailing_percent,
  trailing_atr (null removes it), reason.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlmodel import Session, col, select

from botdesk.db import candles as candle_store
from botdesk.db import commands, engine_state, typed
from botdesk.db.models import (
    OPEN_ORDER_STATUSES,
    Bot,
    BotState,
    Command,
    Order,
    OrderType,
    Position,
    PositionStatus,
    Role,
)
from botdesk.db.types import MAX_AMOUNT, MONEY_UNIT, utcnow

ORDER_TYPES = (OrderType.MARKET.value, OrderType.LIMIT.value)
SIZES = ("quote", "quantity", "risk")  # a quote amount, a quantity, the bot's risk sizing
TIME_IN_FORCE = ("GTC", "GTD")  # good till cancelled, good till a time (`expires_at`)
PROTECTION_FIELDS = ("stop", "take_profit", "trailing_percent", "trailing_atr")
PROTECTIVE_PURPOSES = ("stop_loss", "take_profit", "trailing_stop")
HUNDRED = Decimal(100)


class ManualOrderRefused(ValueError):
    """A manual order that cannot be queued: `status` says how the API answers it (400 bad
    input, 404 no such row, 409 not now), the message what to change."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid_body"):
        super().__init__(message)
        self.status = status
        self.code = {403: "forbidden", 404: "not_found"}.get(status, code)


def _invalid(message: str) -> ManualOrderRefused:
    return ManualOrderRefused(message, 400)


def manual_order_id(bot_id: int, command_id: int) -> str:
    """The client order id of a manual order: one per command (the engine's
    `command_order_id` gives the same)."""
    return f"bd-{bot_id}-c{command_id}"


def _amount(value: object, field: str, *, high: Decimal = MAX_AMOUNT) -> Decimal:
    amount = typed.number(value, field=field, low=Decimal(0), high=high, refuse=_invalid)
    if amount <= 0:
        raise _invalid(f"{field}: must be above 0")
    return amount


def _optional_amount(value: object, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _amount(value, field)


def _choice(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _invalid(f"{field}: one of {', '.join(allowed)}, not {typed.shown(value)!r}")
    return value


def _reason(reason: object) -> str:
    try:
        return commands.clean_reason(reason if isinstance(reason, str) else None)
    except commands.BadReason as error:
        raise _invalid(str(error)) from None


def _trader(role: Role) -> None:
    if not Role(role).allows(Role.TRADER):
        raise ManualOrderRefused("manual orders need the trader or admin role", 403)


def _no_kill_switch(session: Session) -> None:
    state = engine_state.get(session=session)
    if state.kill_switch_engaged:
        raise ManualOrderRefused(
            f"the kill switch is engaged ({state.kill_switch_reason}): no order leaves "
            "the engine until an admin releases it",
            409,
            "kill_switch_engaged",
        )


def _bot(session: Session, bot_id: int) -> Bot:
    bot = session.get(Bot, bot_id) if isinstance(bot_id, int) else None
    if bot is None:
        raise ManualOrderRefused(f"no bot {bot_id}", 404)
    return bot


def _open_position(session: Session, position_id: int) -> Position:
    position = session.get(Position, position_id) if isinstance(position_id, int) else None
    if position is None:
        raise ManualOrderRefused(f"no position {position_id}", 404)
    if position.status != PositionStatus.OPEN:
        raise ManualOrderRefused(
            f"position {position_id} is already closed", 409, "position_closed"
        )
    return position


def _watched(bot: Bot, what: str) -> None:
    """A resting order needs a bot the engine runs: a stopped bot's candles are not
    processed, so its limit would never be matched nor its position watched."""
    if bot.desired_state not in (BotState.RUNNING, BotState.PAUSED):
        raise ManualOrderRefused(
            f"{bot.name} is {bot.desired_state}: start it before {what} "
            "(a stopped bot's orders and position are not watched)",
            409,
            "bot_not_running",
        )


@dataclass(frozen=True)
class Issuer:
    """Who queues the command, as the audit log records them."""

    by: str
    role: Role
    via: str = "desk"
    ip: str | None = None
    user_id: int | None = None


def _issue(session: Session, issuer: Issuer, kind: str, target: str, params: dict) -> Command:
    return commands.issue(
        session=session,
        kind=kind,
        issued_by=issuer.by,
        via=issuer.via,
        target=target,
        params=params,
        reason=params["reason"],
        ip=issuer.ip,
        user_id=issuer.user_id,
    )


def _limit_price(order_type: str, price: object) -> Decimal | None:
    limit_price = _optional_amount(price, "price")
    if order_type == OrderType.LIMIT and limit_price is None:
        raise _invalid("price: a limit order needs its price")
    if order_type == OrderType.MARKET and limit_price is not None:
        raise _invalid("price: a market order takes no price (choose limit)")
    return limit_price


def _moment(value: object) -> datetime | None:
    """A time as the API (an aware datetime) or the desk (text, UTC unless it says) gives it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _invalid(
                f"expires_at: {typed.shown(value)!r} is not a time like 2024-10-28 12:00"
            ) from None
    if not isinstance(value, datetime):
        raise _invalid("expires_at: not a time")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def market_time(session: Session, symbol: str) -> datetime:
    """Now on the market's clock: the close of the symbol's newest 1m candle (a replay's
    time during a replay), or the wall clock before any candle."""
    latest = candle_store.latest_open_ms(session=session, symbol=symbol)
    if latest is None:
        return utcnow()
    return datetime.fromtimestamp((latest + 60_000) / 1000, UTC)


def _good_till(
    session: Session, symbol: str, order_type: str, time_in_force: object, expires_at: object
) -> dict[str, str | None]:
    """The time in force of a limit: GTC, or GTD until `expires_at` (after the market's now)."""
    chosen = time_in_force.upper() if isinstance(time_in_force, str) else time_in_force
    chosen = _choice(chosen, "time_in_force", TIME_IN_FORCE)
    until = _moment(expires_at)
    if chosen == "GTC":
        if until is not None:
            raise _invalid("expires_at: only a good-till-time (GTD) order expires")
        return {"time_in_force": "GTC"}
    if order_type != OrderType.LIMIT:
        raise _invalid("time_in_force: GTD is for a limit order (a market order fills at once)")
    if until is None:
        raise _invalid("expires_at: a GTD order needs the time it expires")
    now = market_time(session, symbol)
    if until <= now:
        raise _invalid(
            f"expires_at: {until:%Y-%m-%d %H:%M} UTC is not after the market's time "
            f"{now:%Y-%m-%d %H:%M} UTC"
        )
    return {"time_in_force": "GTD", "expires_at": until.isoformat()}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def force_entry(
    *,
    session: Session,
    issuer: Issuer,
    bot_id: int,
    type: str = OrderType.MARKET,
    price: object = None,
    size: str = "risk",
    amount: object = None,
    stop: object = None,
    take_profit: object = None,
    time_in_force: str = "GTC",
    expires_at: object = None,
    reason: object = None,
) -> Command:
    """Queue a force entry (a buy) on a bot."""
    _trader(issuer.role)
    order_type = _choice(type, "type", ORDER_TYPES)
    size = _choice(size, "size", SIZES)
    limit_price = _limit_price(order_type, price)
    sized = None
    if size == "risk":
        if amount is not None and not (isinstance(amount, str) and not amount.strip()):
            raise _invalid("amount: the bot's risk sizing takes no amount")
    else:
        sized = _amount(amount, "amount")
    stop_price = _optional_amount(stop, "stop")
    target_price = _optional_amount(take_profit, "take_profit")
    reason = _reason(reason)
    bot = _bot(session, bot_id)
    _no_kill_switch(session)
    _watched(bot, "a manual entry")
    if bot.desired_state == BotState.PAUSED:
        raise ManualOrderRefused(
            f"{bot.name} is paused: it opens nothing (resume it first)", 409, "bot_not_running"
        )
    reference = limit_price or candle_store.last_price(session=session, symbol=bot.symbol)
    check_levels(reference, stop_price, target_price)
    if size == "quote" and reference is not None and quantity_for(sized, reference) <= 0:
        raise _invalid(f"amount: {sized} buys nothing at {reference}")
    params = {
        "type": order_type,
        "price": _text(limit_price),
        "size": size,
        "amount": _text(sized),
        "stop": _text(stop_price),
        "take_profit": _text(target_price),
        **_good_till(session, bot.symbol, order_type, time_in_force, expires_at),
        "reason": reason,
    }
    return _issue(session, issuer, "order.entry", f"bot:{bot.id}", params)


def exit_position(
    *,
    session: Session,
    issuer: Issuer,
    position_id: int,
    quantity: object = None,
    percent: object = None,
    type: str = OrderType.MARKET,
    price: object = None,
    time_in_force: str = "GTC",
    expires_at: object = None,
    reason: object = None,
) -> Command:
    """Queue an exit of the whole position or part of it (a quantity or a percent)."""
    _trader(issuer.role)
    order_type = _choice(type, "type", ORDER_TYPES)
    limit_price = _limit_price(order_type, price)
    given_quantity = _optional_amount(quantity, "quantity")
    given_percent = None
    if percent is not None and not (isinstance(percent, str) and not percent.strip()):
        given_percent = _amount(percent, "percent", high=HUNDRED)
    if given_quantity is not None and given_percent is not None:
        raise _invalid("give a quantity or a percent, not both")
    reason = _reason(reason)
    position = _open_position(session, position_id)
    bot = _bot(session, position.bot_id)
    if order_type == OrderType.LIMIT:
        _watched(bot, "a limit exit")
    if given_quantity is not None and given_quantity > position.quantity:
        raise _invalid(f"quantity: the position holds {position.quantity} {position.symbol}")
    if given_percent is not None and part_of(position.quantity, given_percent) <= 0:
        raise _invalid(f"percent: {given_percent} % of {position.quantity} is nothing")
    good_till = _good_till(session, position.symbol, order_type, time_in_force, expires_at)
    params: dict[str, Any] = {"type": order_type, "price": _text(limit_price)}
    if order_type == OrderType.LIMIT:
        params.update(good_till)
    params["reason"] = reason
    if given_quantity is not None:
        params["quantity"] = _text(given_quantity)
    if given_percent is not None:
        params["percent"] = _text(given_percent)
    return _issue(session, issuer, "position.close", f"position:{position.id}", params)


def cancel_order(
    *, session: Session, issuer: Issuer, order_id: int, reason: object = None
) -> Command:
    """Queue the cancel of one resting order."""
    _trader(issuer.role)
    reason = _reason(reason)
    order = session.get(Order, order_id) if isinstance(order_id, int) else None
    if order is None:
        raise ManualOrderRefused(f"no order {order_id}", 404)
    check_cancellable(order)
    return _issue(session, issuer, "order.cancel", f"order:{order.id}", {"reason": reason})


def check_cancellable(order: Order) -> None:
    if order.status not in OPEN_ORDER_STATUSES:
        raise ManualOrderRefused(
            f"order {order.id} is {order.status}: nothing to cancel", 409, "order_closed"
        )
    if order.purpose in PROTECTIVE_PURPOSES:
        raise ManualOrderRefused(
            f"order {order.id} protects its position ({order.purpose}): change the "
            "position's stop or take-profit instead",
            409,
            "order_protects_position",
        )


def change_protection(
    *,
    session: Session,
    issuer: Issuer,
    position_id: int,
    changes: dict[str, object],
    reason: object = None,
) -> Command:
    """Queue new stop-loss, take-profit or trailing distance for an open position: the
    fields in `changes` change (None removes), the others stay."""
    _trader(issuer.role)
    unknown = sorted(set(changes) - set(PROTECTION_FIELDS))
    if unknown:
        raise _invalid(f"unknown field {unknown[0]!r}")
    if not changes:
        raise _invalid(f"give at least one of {', '.join(PROTECTION_FIELDS)}")
    values = {field: _optional_amount(value, field) for field, value in changes.items()}
    trailing = values.get("trailing_percent")
    if trailing is not None and trailing >= HUNDRED:
        raise _invalid("trailing_percent: must be below 100")
    reason = _reason(reason)
    position = _open_position(session, position_id)
    last = candle_store.last_price(session=session, symbol=position.symbol)
    stop = values.get("stop", position.stop_price)
    target = values.get("take_profit", position.take_profit)
    check_levels(
        last,
        values.get("stop") if "stop" in values else None,
        values.get("take_profit") if "take_profit" in values else None,
    )
    if stop is not None and target is not None and stop >= target:
        raise _invalid(f"stop {stop} must be below the take-profit {target}")
    params: dict[str, Any] = {field: _text(value) for field, value in values.items()}
    params["reason"] = reason
    return _issue(session, issuer, "position.protect", f"position:{position.id}", params)


def check_levels(price: Decimal | None, stop: Decimal | None, take_profit: Decimal | None):
    """A long's stop below the price and take-profit above it (else it would exit at once)."""
    if stop is not None and take_profit is not None and stop >= take_profit:
        raise _invalid(f"stop {stop} must be below the take-profit {take_profit}")
    if price is None:
        return
    if stop is not None and stop >= price:
        raise _invalid(f"stop: {stop} is not below the price {price} (it would sell at once)")
    if take_profit is not None and take_profit <= price:
        raise _invalid(
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


def open_position_of(*, session: Session, bot: Bot) -> Position | None:
    """The bot's open position in its symbol, if any (what its exits act on)."""
    query = select(Position).where(
        Position.bot_id == bot.id,
        Position.symbol == bot.symbol,
        Position.status == PositionStatus.OPEN,
    )
    return session.exec(query).first()


def open_orders_of(*, session: Session, bot_id: int) -> list[Order]:
    """The bot's open orders, oldest first (what a cancel can choose from)."""
    query = select(Order).where(Order.bot_id == bot_id, col(Order.status).in_(OPEN_ORDER_STATUSES))
    return list(session.exec(query.order_by(col(Order.id))).all())
