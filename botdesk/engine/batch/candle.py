"""One closed candle for all the bots of its (symbol, timeframe), in the caller's one
transaction.

The bots' state is read once for all of them (`known.read_known`, the risk limits with
`risk_limits.effective_many`; the day's baseline and the drawdown peak kept between
candles by `memory.CandleMemory`); the desk's P&L today is read once and moved along bot
by bot. A bot to which nothing happens on this candle (no resting order, no stop or
take-profit touched, no signal or one it ignores: most bots, most candles) goes through
`trading.quiet_candle`, which only adds rows and changes loaded ones, so the whole
batch's snapshots, positions and cursors are written together when the transaction
flushes. Any other bot goes through `trading.process_candle` exactly as on its own (its
orders still pass the order path, the kill switch read immediately before sending).
Bots are taken in id order, so every bot sees the others as the per-bot path would.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from botdesk.db import risk_limits
from botdesk.db.models import Bot, Side
from botdesk.engine import fill_rules
from botdesk.engine.accounts import account_from
from botdesk.engine.batch.known import BotKnown, read_known
from botdesk.engine.batch.memory import CandleMemory
from botdesk.engine.brokers.base import Broker, CandlePrices, ms_to_datetime
from botdesk.engine.frames import BUY
from botdesk.engine.risk import measures
from botdesk.engine.risk.breaches import DAILY_LOSS_PAUSE, KnownMeasures
from botdesk.engine.trading import StrategySignal, foregone, process_candle, quiet_candle


@dataclass
class BatchItem:
    bot: Bot  # locked in the batch's transaction
    signal: StrategySignal | None
    broker: Broker


class DeskDay:
    """The desk's P&L today (`measures.desk_daily_pnl`), read once at the start of a batch
    and moved along by each bot's change of equity (realized plus unrealized P&L is
    equity less capital, so a bot's candle moves the desk's P&L by its equity's change)."""

    def __init__(self, session: Session, at, *, needed: bool):
        self._pnl = measures.desk_daily_pnl(session=session, at=at) if needed else None

    def now(self, change: Decimal = Decimal(0)) -> Decimal:
        if self._pnl is None:
            raise RuntimeError("the desk's P&L was not read for this batch")
        return self._pnl + change

    def shift(self, change: Decimal) -> None:
        if self._pnl is not None:
            self._pnl += change


def is_quiet(item: BatchItem, known: BotKnown, candle: CandlePrices) -> bool:
    """Nothing but marking, a snapshot and the breaches happens to this bot this candle
    (a signal it gets is one it ignores whatever the database holds)."""
    if not item.broker.quiet_without_orders:
        return False
    if known.has_open_orders or known.breaker_candidate:
        return False
    position = known.position
    if position is not None:
        if position.trailing_atr is not None:  # the ATR comes from the candle table
            return False
        hit = fill_rules.first_protective_exit(
            [candle.high], [candle.low], stop=position.stop_price, take_profit=position.take_profit
        )
        if hit is not None:
            return False
    signal = item.signal
    if signal is None:
        return True
    side = Side.BUY if signal.side == BUY else Side.SELL
    return foregone(item.bot, side, position, [], "strategy") is not None


def process_batch(
    session: Session,
    *,
    items: list[BatchItem],
    candle: CandlePrices,
    timeframe: str,
    memory: CandleMemory,
) -> list[int]:
    """Process `candle` for every item's bot; returns the ids of the bots processed."""
    items = sorted(items, key=lambda item: item.bot.id)
    bots = [item.bot for item in items]
    limits = risk_limits.effective_many(session=session, bot_ids=[bot.id for bot in bots])
    known = read_known(session, bots, limits)
    at = ms_to_datetime(candle.close_time_ms)
    desk = DeskDay(
        session,
        at,
        needed=any(limits[bot.id].desk.get("daily_loss_limit") is not None for bot in bots),
    )
    done = []
    for number, item in enumerate(items):
        bot, state = item.bot, known[item.bot.id]
        before = memory.before(bot)
        held = [state.position] if state.position is not None else []
        equity_before = account_from(
            bot=bot, realized=state.realized, fees=state.fees, open_positions=held
        ).equity
        baseline, peak = memory.measures(session, bot, at)

        def measured(equity: Decimal, baseline=baseline, peak=peak, since=equity_before):
            return KnownMeasures(
                baseline=baseline, peak=peak, desk_pnl=lambda: desk.now(equity - since)
            )

        if is_quiet(item, state, candle):
            recorded = quiet_candle(
                session,
                bot=bot,
                candle=candle,
                timeframe=timeframe,
                signal=item.signal,
                position=state.position,
                realized=state.realized,
                fees=state.fees,
                broker=item.broker,
                known=measured,
            )
        else:
            recorded = process_candle(
                session,
                bot=bot,
                candle=candle,
                timeframe=timeframe,
                signal=item.signal,
                broker=item.broker,
                known=measured,
            )
        desk.shift(recorded.equity - equity_before)
        memory.after(bot, candle_open_ms=candle.open_time_ms, equity=recorded.equity, before=before)
        done.append(bot.id)
        if _paused_the_desk(bot, before):
            for later in bots[number + 1 :]:  # the pause changed their rows in the database
                session.refresh(later)
    return done


def _paused_the_desk(bot: Bot, before: tuple) -> bool:
    reason = bot.status_reason or ""
    return reason != (before[1][2] or "") and reason.startswith(DAILY_LOSS_PAUSE)
