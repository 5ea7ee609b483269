"""The operator's manual orders (queued by `botdesk.db.manual_orders`): order.entry
(target "bot:<id>"), order.cancel ("order:<id>") and position.protect ("position:<id>");
exits are `position.close` (`botdesk.engine.handlers.positions`).

A force entry goes through the order path as a strategy's does (kill switch, dead man's
switch, risk checks): it is stored as a signal of source "manual" carrying its stop and
take-profit, so its position takes them when the order fills, at once (a market order on
paper fills at the latest price) or later (a resting limit). Each handler is idempotent per
command: the order's client id is the command's own.
"""

from decimal import Decimal

from sqlmodel import select

from botdesk.db import candles as candle_store
from botdesk.db import manual_orders
from botdesk.db.manual_inputs import (
    ManualOrderRefused,
    amount_or_none,
    check_levels,
    good_till_of,
    quantity_for,
)
from botdesk.db.models import (
    OPEN_ORDER_STATUSES,
    Bot,
    BotState,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    Side,
    Signal,
)
from botdesk.engine.accounts import account
from botdesk.engine.commands import CommandContext, CommandFailed, handles
from botdesk.engine.handlers.common import (
    existing,
    locked,
    locked_bot,
    market_now,
    stamp,
    target_id,
)
from botdesk.engine.ledger import ZERO, open_position
from botdesk.engine.orders import OrderRefused, OrderRequest, command_order_id, submit
from botdesk.engine.sizing import size_entry
from botdesk.engine.trading import protect_from_signal
from botdesk.formats import money_text, quantity_text


def _levels(price: Decimal | None, stop: Decimal | None, take_profit: Decimal | None) -> None:
    try:
        check_levels(price, stop, take_profit)
    except ManualOrderRefused as refusal:
        raise CommandFailed(str(refusal)) from None


def _entry_quantity(context: CommandContext, bot: Bot, price: Decimal, stop) -> Decimal:
    size, amount = context.params.get("size"), amount_or_none(context.params.get("amount"))
    if size == "quantity":
        return amount
    if size == "quote":
        return quantity_for(amount, price)
    broker = context.runtime.brokers.get(bot.broker)
    position = open_position(session=context.session, bot_id=bot.id, symbol=bot.symbol)
    return size_entry(
        session=context.session,
        bot=bot,
        price=price,
        stop=stop,
        cash=account(session=context.session, bot=bot).cash,
        position_quantity=position.quantity if position is not None else ZERO,
        fee_rate=broker.fee_rate,
        slippage_bps=broker.slippage_bps,
    )


@handles("order.entry")
def force_entry(context: CommandContext) -> str:
    session, command = context.session, context.command
    bot = locked_bot(context)
    client_order_id = command_order_id(bot.id, command.id)
    done = session.exec(select(Order).where(Order.client_order_id == client_order_id)).first()
    if done is not None:  # a re-run after a crash: the order was already sent
        return f"entry order {client_order_id} is {done.status}"
    if bot.desired_state != BotState.RUNNING:
        raise CommandFailed(f"{bot.name} is {bot.desired_state}: a manual entry needs it running")
    params = context.params
    order_type = params.get("type", OrderType.MARKET)
    limit_price = amount_or_none(params.get("price"))
    stop = amount_or_none(params.get("stop"))
    take_profit = amount_or_none(params.get("take_profit"))
    time_in_force, expires_at = good_till_of(params)
    market = market_now(session, bot.symbol)
    price = limit_price or market.last_price
    if price is None:
        raise CommandFailed(f"no price of {bot.symbol} known yet: nothing to size or fill at")
    _levels(price, stop, take_profit)
    quantity = _entry_quantity(context, bot, price, stop)
    if quantity <= 0:
        raise CommandFailed(f"{params.get('size')} sizing gives nothing to buy at {price}")
    reason = params.get("reason") or command.reason or ""
    latest = candle_store.latest_open_ms(
        session=session, symbol=bot.symbol, timeframe=bot.timeframe
    )
    signal = Signal(
        bot_id=bot.id,
        dedupe_key=f"m:{command.id}",
        source="manual",
        symbol=bot.symbol,
        timeframe=bot.timeframe,
        candle_open_ms=latest,
        side=Side.BUY,
        price=price,
        stop=stop,
        take_profit=take_profit,
        reason=f"manual entry by {command.issued_by}: {reason}"[:500],
    )
    session.add(signal)
    session.flush()
    request = OrderRequest(
        bot=bot,
        side=Side.BUY,
        quantity=quantity,
        purpose="manual_entry",
        client_order_id=client_order_id,
        type=order_type,
        price=limit_price,
        reference_price=price,
        signal=signal,
        immediate=order_type == OrderType.MARKET,
        candle_open_ms=latest,  # a resting limit is matched from the next candle on
        time_in_force=time_in_force,
        expires_at=expires_at,
    )
    broker = context.runtime.brokers.get(bot.broker)
    try:
        order = submit(session, request, broker=broker, market=market)
    except OrderRefused as refusal:
        raise CommandFailed(f"entry refused: {refusal.reason}", keep_changes=True) from None
    if order.status == OrderStatus.REJECTED:
        raise CommandFailed(f"entry rejected: {order.status_reason}", keep_changes=True)
    if order.status == OrderStatus.FILLED:
        protect_from_signal(session, order)
        return (
            f"{bot.name}: bought {quantity_text(order.filled_quantity)} {bot.symbol} at "
            f"{money_text(order.average_price)} ({reason})"
        )
    at = f" at {money_text(limit_price)}" if limit_price is not None else ""
    if expires_at is not None:
        at += f", good till {stamp(expires_at)}"
    return (
        f"{bot.name}: {order_type} buy of {quantity_text(quantity)} {bot.symbol}{at} is "
        f"{order.status} as {client_order_id} ({reason})"
    )


@handles("order.cancel")
def cancel(context: CommandContext) -> str:
    order_id = target_id(context, "order")
    order = existing(context.session, Order, order_id, "order")
    locked(context.session, Bot, order.bot_id, "bot")
    context.session.refresh(order)
    if order.status not in OPEN_ORDER_STATUSES:
        return f"order {order.client_order_id} was already {order.status}"
    try:
        manual_orders.check_cancellable(order)
    except ManualOrderRefused as refusal:
        raise CommandFailed(str(refusal)) from None
    context.runtime.brokers.get(order.broker).cancel(context.session, [order])
    reason = context.params.get("reason") or context.command.reason or ""
    return f"order {order.client_order_id} {order.status} ({reason})"


def _shown(field: str, value: Decimal | None) -> str:
    if value is None:
        return "none"
    return money_text(value) if field in ("stop", "take_profit") else format(value, "f")


@handles("position.protect")
def change_protection(context: CommandContext) -> str:
    session = context.session
    position_id = target_id(context, "position")
    position = existing(session, Position, position_id, "position")
    bot = locked(session, Bot, position.bot_id, "bot")
    session.refresh(position)
    if position.status != PositionStatus.OPEN:
        raise CommandFailed(f"position {position_id} is closed ({position.exit_reason})")
    changes = {
        field: amount_or_none(context.params[field])
        for field in manual_orders.PROTECTION_FIELDS
        if field in context.params
    }
    market = market_now(session, position.symbol)
    _levels(market.last_price, changes.get("stop"), changes.get("take_profit"))
    columns = {
        "stop": "stop_price",
        "take_profit": "take_profit",
        "trailing_percent": "trailing_percent",
        "trailing_atr": "trailing_atr",
    }
    after = {field: changes.get(field, getattr(position, columns[field])) for field in columns}
    if (
        after["stop"] is not None
        and after["take_profit"] is not None
        and after["stop"] >= after["take_profit"]
    ):
        raise CommandFailed(
            f"stop {after['stop']} must be below the take-profit {after['take_profit']}"
        )
    moved = []
    for field, value in changes.items():
        before = getattr(position, columns[field])
        if before != value:
            setattr(position, columns[field], value)
            moved.append(f"{field} {_shown(field, before)} -> {_shown(field, value)}")
    if not moved:
        return f"position {position_id}: nothing changes"
    session.add(position)
    session.flush()
    context.runtime.brokers.get(bot.broker).protection_changed(session, position, market)
    reason = context.params.get("reason") or context.command.reason or ""
    return f"position {position_id} ({bot.name} {position.symbol}): {', '.join(moved)} ({reason})"
