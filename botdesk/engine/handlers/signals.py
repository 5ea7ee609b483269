"""signal.execute (target "signal:<id>"): act on a stored signal that did not come from
the strategy loop (a TradingView webhook, a manual signal). Buy opens or adds per the
bot's sizing; sell closes; both through the order path and the risk hook. A signal that
was already handled is left alone.
"""

from botdesk.db import candles as candle_store
from botdesk.db.models import Bot, BotState, Signal, SignalStatus
from botdesk.engine.brokers.base import MarketContext
from botdesk.engine.commands import CommandContext, CommandFailed, handles
from botdesk.engine.handlers.common import existing, locked, market_now, target_id
from botdesk.engine.trading import act_on_signal


@handles("signal.execute")
def execute(context: CommandContext) -> str:
    signal_id = target_id(context, "signal")
    signal = existing(context.session, Signal, signal_id, "signal")
    bot = locked(context.session, Bot, signal.bot_id, "bot")
    context.session.refresh(signal)
    if signal.status != SignalStatus.NEW:
        return f"signal {signal_id} was already handled: {signal.status} ({signal.status_reason})"
    active = bot.desired_state in (BotState.RUNNING, BotState.PAUSED)
    if not active or bot.status != bot.desired_state:
        signal.status = SignalStatus.IGNORED
        signal.status_reason = f"bot {bot.name} is {bot.status}"
        context.session.add(signal)
        return f"signal {signal_id} ignored: {signal.status_reason}"
    now = market_now(context.session, bot.symbol)
    # a paper market order rests until the next candle of the bot's timeframe opens
    latest = candle_store.latest_open_ms(
        session=context.session, symbol=bot.symbol, timeframe=bot.timeframe
    )
    market = MarketContext(symbol=bot.symbol, at=now.at, last_price=now.last_price)
    order = act_on_signal(
        context.session,
        bot=bot,
        signal=signal,
        broker=context.runtime.brokers.get(bot.broker),
        market=market,
        purpose="webhook" if signal.source == "webhook" else None,
        candle_open_ms=latest,
    )
    if signal.status == SignalStatus.REJECTED:
        raise CommandFailed(
            f"signal {signal_id} rejected: {signal.status_reason}", keep_changes=True
        )
    if order is None:
        return f"signal {signal_id} {signal.status}: {signal.status_reason}"
    return f"signal {signal_id} accepted: order {order.client_order_id} ({order.status})"
