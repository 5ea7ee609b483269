"""position.close (target "position:<id>"): sell the whole position or part of it, at
market now or with a resting limit. Params: "reason"; "quantity" or "percent" for a part
(neither: all of it); "type" market|limit and the limit's "price", "time_in_force" (GTC
or GTD with "expires_at").

On paper a market close fills at once at the latest known price adjusted by the slippage
(see `botdesk.engine.fill_rules`); an operator's "close now" does not wait for a candle. A
limit rests and fills when a later candle trades through its price. Closing all of it
first cancels the bot's open orders in the symbol; a part leaves them (a ladder of limit
exits is a plan), and the order path refuses a part larger than what they leave unsold.
The ledger books a part exactly: its realized P&L and fee, the rest's cost basis pro rata.
"""

from decimal import Decimal

from sqlmodel import select

from botdesk.db import candles as candle_store
from botdesk.db.manual_inputs import amount_or_none, good_till_of, part_of
from botdesk.db.models import Bot, BotState, Order, OrderType, Position, PositionStatus, Side
from botdesk.engine.commands import CommandContext, CommandFailed, handles
from botdesk.engine.handlers.common import (
    cancel_open_orders,
    existing,
    locked,
    market_now,
    target_id,
)
from botdesk.engine.orders import OrderRefused, OrderRequest, command_order_id, submit
from botdesk.formats import money_text, quantity_text


def _quantity(context: CommandContext, position: Position) -> Decimal:
    """How much to sell: the part asked for, or all of it."""
    quantity = amount_or_none(context.params.get("quantity"))
    percent = amount_or_none(context.params.get("percent"))
    if percent is not None:
        quantity = part_of(position.quantity, percent)
    if quantity is None:
        return position.quantity
    if quantity > position.quantity:
        raise CommandFailed(
            f"position {position.id} holds {quantity_text(position.quantity)} "
            f"{position.symbol}: cannot sell {quantity_text(quantity)}"
        )
    if quantity <= 0:
        raise CommandFailed(f"{percent} % of {position.quantity} is nothing to sell")
    return quantity


@handles("position.close")
def close(context: CommandContext) -> str:
    position_id = target_id(context, "position")
    position = existing(context.session, Position, position_id, "position")
    bot = locked(context.session, Bot, position.bot_id, "bot")
    client_order_id = command_order_id(bot.id, context.command.id)
    done = context.session.exec(
        select(Order).where(Order.client_order_id == client_order_id)
    ).first()
    if done is not None:  # this command already sent its order (a re-run after a crash)
        return f"position {position_id}: close order {client_order_id} is {done.status}"
    context.session.refresh(position)
    if position.status != PositionStatus.OPEN:
        return f"position {position_id} is already closed ({position.exit_reason})"
    quantity = _quantity(context, position)
    whole = quantity == position.quantity
    order_type = context.params.get("type") or OrderType.MARKET
    limit_price = amount_or_none(context.params.get("price"))
    if order_type == OrderType.LIMIT and bot.desired_state not in (
        BotState.RUNNING,
        BotState.PAUSED,
    ):
        raise CommandFailed(f"{bot.name} is {bot.desired_state}: a limit exit needs it running")
    cancelled = 0
    if whole:
        cancelled = cancel_open_orders(
            context, Order.bot_id == bot.id, Order.symbol == position.symbol
        )
    time_in_force, expires_at = good_till_of(context.params)
    market = market_now(context.session, position.symbol)
    reason = (context.params.get("reason") or context.command.reason or "").strip()
    latest = candle_store.latest_open_ms(
        session=context.session, symbol=bot.symbol, timeframe=bot.timeframe
    )
    request = OrderRequest(
        bot=bot,
        side=Side.SELL,
        quantity=quantity,
        purpose="close",
        client_order_id=client_order_id,
        type=order_type,
        price=limit_price,
        reference_price=limit_price or market.last_price,
        immediate=order_type == OrderType.MARKET,
        candle_open_ms=latest if order_type == OrderType.LIMIT else None,
        time_in_force=time_in_force,
        expires_at=expires_at,
    )
    try:
        order = submit(
            context.session, request, broker=context.runtime.brokers.get(bot.broker), market=market
        )
    except OrderRefused as refusal:
        raise CommandFailed(f"close refused: {refusal.reason}", keep_changes=True) from None
    outcome = (  # in the desk's formats: 0.5 BTCUSDT at 61,000.00 USDT
        f"sold {quantity_text(order.filled_quantity)} {order.symbol} "
        f"at {money_text(order.average_price)}"
        if order.average_price is not None
        else f"close order {order.client_order_id} is {order.status}"
    )
    extra = f"; {cancelled} open order(s) cancelled" if cancelled else ""
    why = f" ({reason})" if reason else ""
    what = "closed" if whole else f"part of it ({quantity_text(quantity)}) sold"
    if order.average_price is None:
        what = "closing" if whole else "part of it on sale"
    return f"position {position_id} ({bot.name} {position.symbol}) {what}{why}: {outcome}{extra}"
