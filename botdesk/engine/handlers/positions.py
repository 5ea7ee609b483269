"""position.close (target "position:<id>", params {"reason": ...}): close at market now.

On paper the close fills at once at the latest known price adjusted by the slippage
(see `botdesk.engine.fill_rules`); an operator's "close now" does not wait for a candle.
"""

from sqlmodel import select

from botdesk.db.models import Bot, Order, Position, PositionStatus, Side
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
    cancelled = cancel_open_orders(context, Order.bot_id == bot.id, Order.symbol == position.symbol)
    market = market_now(context.session, position.symbol)
    reason = (context.params.get("reason") or context.command.reason or "").strip()
    request = OrderRequest(
        bot=bot,
        side=Side.SELL,
        quantity=position.quantity,
        purpose="close",
        client_order_id=client_order_id,
        reference_price=market.last_price,
        immediate=True,
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
    return f"position {position_id} ({bot.name} {position.symbol}) closed{why}: {outcome}{extra}"
