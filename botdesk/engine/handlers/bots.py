"""bot.start, bot.stop, bot.pause: the operator's control of a bot (target "bot:<id>")."""

from botdesk.db import engine_state, feed_listings
from botdesk.db.models import Bot, BotState, Order, Side
from botdesk.db.types import utcnow
from botdesk.engine.brokers import BrokerUnavailable
from botdesk.engine.commands import CommandContext, CommandFailed, handles
from botdesk.engine.handlers.common import cancel_open_orders, locked_bot
from botdesk.engine.ledger import open_position
from botdesk.engine.research.gate import lookahead_refusal
from botdesk.engine.strategies import registry

KILL_SWITCH_ENGAGED = "kill switch engaged: an admin must release it first"


def _refuse_while_engaged(context: CommandContext) -> None:
    if engine_state.lock(session=context.session).kill_switch_engaged:
        raise CommandFailed(KILL_SWITCH_ENGAGED)


def _check_runnable(context: CommandContext, bot: Bot) -> None:
    try:
        strategy = registry.create_from_json(bot.strategy, bot.params)
        context.runtime.brokers.get(bot.broker)
    except (ValueError, BrokerUnavailable) as error:
        raise CommandFailed(f"cannot run {bot.name}: {error}") from None
    if why := registry.timeframe_refusal(strategy, bot.timeframe):
        raise CommandFailed(f"cannot run {bot.name} on {bot.timeframe} candles: {why}")
    if bot.lookahead_allowed_by is None and (why := lookahead_refusal(bot.strategy, bot.params)):
        raise CommandFailed(f"cannot run {bot.name}: {why}")
    # a bot saved before its feed listed its symbols, or since moved to another feed
    offered = feed_listings.offer(session=context.session, feed=context.runtime.settings.FEED)
    if offered is not None and (why := feed_listings.refusal(bot.symbol, offered)):
        raise CommandFailed(f"cannot run {bot.name}: {why}")


def _set_state(bot: Bot, state: BotState, reason: str | None = None) -> None:
    if bot.status != state or bot.desired_state != state:
        bot.status_changed_at = utcnow()
    bot.desired_state = state
    bot.status = state
    bot.status_reason = reason
    bot.updated_at = utcnow()


@handles("bot.start")
def start(context: CommandContext) -> str:
    bot = locked_bot(context)
    _refuse_while_engaged(context)
    _check_runnable(context, bot)
    if bot.desired_state == BotState.RUNNING and bot.status == BotState.RUNNING:
        return f"{bot.name} is already running"
    resuming = bot.desired_state == BotState.PAUSED and bot.status == BotState.PAUSED
    if not resuming:  # a paused bot kept up with every candle; any other starts afresh
        bot.last_candle_ms = None
    _set_state(bot, BotState.RUNNING)
    context.session.add(bot)
    return f"{bot.name} {'resumed' if resuming else 'started'}: trading from the next candle"


@handles("bot.pause")
def pause(context: CommandContext) -> str:
    bot = locked_bot(context)
    _refuse_while_engaged(context)
    _check_runnable(context, bot)
    if bot.desired_state == BotState.PAUSED and bot.status == BotState.PAUSED:
        return f"{bot.name} is already paused"
    if bot.desired_state != BotState.RUNNING or bot.status != BotState.RUNNING:
        bot.last_candle_ms = None
    cancelled = cancel_open_orders(context, Order.bot_id == bot.id, Order.side == Side.BUY)
    _set_state(bot, BotState.PAUSED, "paused: manages its open position, opens nothing new")
    context.session.add(bot)
    return f"{bot.name} paused; {cancelled} open buy order(s) cancelled"


@handles("bot.stop")
def stop(context: CommandContext) -> str:
    bot = locked_bot(context)
    cancelled = cancel_open_orders(context, Order.bot_id == bot.id)
    already = bot.desired_state == BotState.STOPPED and bot.status == BotState.STOPPED
    _set_state(bot, BotState.STOPPED)
    context.session.add(bot)
    position = open_position(session=context.session, bot_id=bot.id, symbol=bot.symbol)
    message = f"{bot.name} {'was already stopped' if already else 'stopped'}"
    message += f"; {cancelled} open order(s) cancelled"
    if position is not None:
        message += (
            f"; its position of {position.quantity} {position.symbol} stays open "
            f"(close it with position.close on position:{position.id})"
        )
    return message
