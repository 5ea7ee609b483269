"""One closed candle for all the bots of its (symbol, timeframe), in the caller's one
transaction.

The bots' state is read once for all of them (`known.read_known`, the risk limits with
`risk_limits.effective_many`; the day's baseline and the drawdown peak kept between
candles by `memory.CandleMemory`); the desk's P&L today is read once and moved along bot
by bot. A bot to which nothing happens on this candle (no resting order, no signal, no
stop or take-profit touched: most bots, most candles) goes through
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
from botdesk.db.models import Bot
from botdesk.engine import fill_rules
from botdesk.engine.batch.known import BotKnown, read_known
from botdesk.engine.batch.memory import CandleMemory
from botdesk.engine.brokers.base import Broker, CandlePrices, ms_to_datetime
from botdesk.engine.risk import measures
from botdesk.engine.risk.breaches import DAILY_LOSS_PAUSE, KnownMeasures
from botdesk.engine.trading import StrategySignal, process_candle, quiet_candle


@dataclass
class BatchItem:
    bot: Bot  # locked in the batch's transaction
    signal: StrategySignal | None
    broker: Broker


class DeskDay:
    """The desk's P&L today (`measures.desk_daily_pnl`), read at most once per batch and
    moved along as the batch's quiet bots revalue their positions."""

    def __init__(self, session: Session, at):
        self.session, self.at = session, at
        self._pnl: Decimal | None = None

    def __call__(self) -> Decimal:
        if self._pnl is None:
            self._pnl = measures.desk_daily_pnl(session=self.session, at=self.at)
        return self._pnl

    def shift(self, change: Decimal) -> None:
        if self._pnl is not None:
            self._pnl += change

    def forget(self) -> None:
        self._pnl = None


def is_quiet(item: BatchItem, known: BotKnown, candle: CandlePrices) -> bool:
    """Nothing but marking, a snapshot and the breaches happens to this bot this candle."""
    if not item.broker.quiet_without_orders or item.signal is not None:
        return False
    if known.has_open_orders or known.breaker_candidate:
        return False
    position = known.position
    if position is None:
        return True
    if position.trailing_atr is not None:  # the ATR comes from the candle table
        return False
    hit = fill_rules.first_protective_exit(
        [candle.high], [candle.low], stop=position.stop_price, take_profit=position.take_profit
    )
    return hit is None


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
    desk = DeskDay(session, at)
    done = []
    for number, item in enumerate(items):
        bot = item.bot
        before = memory.before(bot)
        if is_quiet(item, known[bot.id], candle):
            baseline, peak = memory.measures(session, bot, at)
            state = known[bot.id]
            recorded = quiet_candle(
                session,
                bot=bot,
                candle=candle,
                position=state.position,
                realized=state.realized,
                fees=state.fees,
                broker=item.broker,
                known=KnownMeasures(baseline=baseline, peak=peak, desk_pnl=desk),
                revalued=desk.shift,
            )
        else:
            recorded = process_candle(
                session,
                bot=bot,
                candle=candle,
                timeframe=timeframe,
                signal=item.signal,
                broker=item.broker,
            )
            desk.forget()  # its fills and orders moved the desk's P&L
        memory.after(bot, candle_open_ms=candle.open_time_ms, equity=recorded.equity, before=before)
        done.append(bot.id)
        if _paused_the_desk(bot, before):
            for later in bots[number + 1 :]:  # the pause changed their rows in the database
                session.refresh(later)
    return done


def _paused_the_desk(bot: Bot, before: tuple) -> bool:
    reason = bot.status_reason or ""
    return reason != (before[1][2] or "") and reason.startswith(DAILY_LOSS_PAUSE)
