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
from typing import Any

from sqlmodel import Session, col, select

from botdesk.db import candles as candle_store
from botdesk.db import commands, engine_state
from botdesk.db.manual_inputs import (
    HUNDRED,
    ORDER_TYPES,
    SIZES,
    ManualOrderRefused,
    check_levels,
    checked_good_till,
    checked_limit_price,
    choice,
    clean_reason,
    exact_amount,
    invalid,
    optional_amount,
    part_of,
    quantity_for,
    text,
)
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

PROTECTION_FIELDS = ("stop", "take_profit", "trailing_percent", "trailing_atr")
PROTECTIVE_PURPOSES = ("stop_loss", "take_profit", "trailing_stop")


def manual_order_id(bot_id: int, command_id: int) -> str:
    """The client order id of a manual order: one per command (the engine's
    `command_order_id` gives the same)."""
    return f"bd-{bot_id}-c{command_id}"


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
    order_type = choice(type, "type", ORDER_TYPES)
    size = choice(size, "size", SIZES)
    limit_price = checked_limit_price(order_type, price)
    sized = None
    if size == "risk":
        if amount is not None and not (isinstance(amount, str) and not amount.strip()):
            raise invalid("amount: the bot's risk sizing takes no amount")
    else:
        sized = exact_amount(amount, "amount")
    stop_price = optional_amount(stop, "stop")
    target_price = optional_amount(take_profit, "take_profit")
    reason = clean_reason(reason)
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
        raise invalid(f"amount: {sized} buys nothing at {reference}")
    params = {
        "type": order_type,
        "price": text(limit_price),
        "size": size,
        "amount": text(sized),
        "stop": text(stop_price),
        "take_profit": text(target_price),
        **checked_good_till(session, bot.symbol, order_type, time_in_force, expires_at),
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
    order_type = choice(type, "type", ORDER_TYPES)
    limit_price = checked_limit_price(order_type, price)
    given_quantity = optional_amount(quantity, "quantity")
    given_percent = None
    if percent is not None and not (isinstance(percent, str) and not percent.strip()):
        given_percent = exact_amount(percent, "percent", high=HUNDRED)
    if given_quantity is not None and given_percent is not None:
        raise invalid("give a quantity or a percent, not both")
    reason = clean_reason(reason)
    position = _open_position(session, position_id)
    bot = _bot(session, position.bot_id)
    if order_type == OrderType.LIMIT:
        _watched(bot, "a limit exit")
    if given_quantity is not None and given_quantity > position.quantity:
        raise invalid(f"quantity: the position holds {position.quantity} {position.symbol}")
    if given_percent is not None and part_of(position.quantity, given_percent) <= 0:
        raise invalid(f"percent: {given_percent} % of {position.quantity} is nothing")
    good_till = checked_good_till(session, position.symbol, order_type, time_in_force, expires_at)
    params: dict[str, Any] = {"type": order_type, "price": text(limit_price)}
    if order_type == OrderType.LIMIT:
        params.update(good_till)
    params["reason"] = reason
    if given_quantity is not None:
        params["quantity"] = text(given_quantity)
    if given_percent is not None:
        params["percent"] = text(given_percent)
    return _issue(session, issuer, "position.close", f"position:{position.id}", params)


def cancel_order(
    *, session: Session, issuer: Issuer, order_id: int, reason: object = None
) -> Command:
    """Queue the cancel of one resting order."""
    _trader(issuer.role)
    reason = clean_reason(reason)
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
        raise invalid(f"unknown field {unknown[0]!r}")
    if not changes:
        raise invalid(f"give at least one of {', '.join(PROTECTION_FIELDS)}")
    values = {field: optional_amount(value, field) for field, value in changes.items()}
    trailing = values.get("trailing_percent")
    if trailing is not None and trailing >= HUNDRED:
        raise invalid("trailing_percent: must be below 100")
    reason = clean_reason(reason)
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
        raise invalid(f"stop {stop} must be below the take-profit {target}")
    params: dict[str, Any] = {field: text(value) for field, value in values.items()}
    params["reason"] = reason
    return _issue(session, issuer, "position.protect", f"position:{position.id}", params)


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
