"""One closed candle for all the bots of its timeframe, in the caller's one transaction:
the candle of each bot's symbol, all of the same open time.

The bots' state is read once for all of them (`known.read_known`, the risk limits with
`risk_limits.effective_many`; the day's baseline and the drawdown peak kept between
candles by `memory.CandleMemory`); the desk's exposure, open positions and P&L today are
read once and moved along bot by bot (`risk.desk.DeskFigures`: an entry's risk check
takes them from there and reads only its own bot), and so are the past entries of the
bots that may enter (`risk.entries`: the cooldown's and the order rate's). Every signal
event of the batch (the quiet bots' signal.created, the acting bots' created, executed or
rejected) is written in one insert at the end (`announce.signals_together`).

A bot to which nothing happens on this candle (no resting order, no stop or take-profit
touched, no signal or one it ignores: most bots, most candles) goes through
`trading.quiet_candle`, which only adds rows and changes loaded ones: the whole batch's
snapshots and cursors are written with two set-based statements (`quiet_rows.QuietRows`),
its positions' marks when the transaction flushes. Any other bot goes through
`trading.process_candle` exactly as on its own (its orders still pass the order path,
the kill switch read immediately before sending).
Bots are taken in the order given, which the runner makes the per-bot path's (symbol by
symbol, each symbol's bots in id order), so every bot sees the others as it would there.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session

from botdesk.db import risk_limits
from botdesk.db.models import Bot, Side, Signal
from botdesk.engine import announce, fill_rules
from botdesk.engine.accounts import account_from
from botdesk.engine.batch.known import BotKnown, read_known
from botdesk.engine.batch.memory import CandleMemory
from botdesk.engine.batch.quiet_rows import QuietRows
from botdesk.engine.brokers.base import Broker, CandlePrices, ms_to_datetime
from botdesk.engine.frames import BUY
from botdesk.engine.risk import desk, measures
from botdesk.engine.risk.breaches import DAILY_LOSS_PAUSE, KnownMeasures
from botdesk.engine.risk.desk import BotStanding, DeskFigures
from botdesk.engine.risk.entries import PastEntries, read_past_entries
from botdesk.engine.trading import StrategySignal, foregone, process_candle, quiet_candle


@dataclass
class BatchItem:
    bot: Bot  # locked in the batch's transaction
    signal: StrategySignal | None
    broker: Broker
    candle: CandlePrices | None = None  # its symbol's (None: the batch's `candle`)
    created: list[Signal] = field(default_factory=list)  # its signal, stored quietly


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
    """Process its candle for every item's bot, in the order given: `candle`, or the
    candle of the same open time in its own symbol that the item carries; returns the ids
    of the bots processed."""
    for item in items:
        item.candle = item.candle or candle
        if item.candle.open_time_ms != candle.open_time_ms:
            raise ValueError(f"bot {item.bot.id}'s candle is not the batch's")
    bots = [item.bot for item in items]
    limits = risk_limits.effective_many(session=session, bot_ids=[bot.id for bot in bots])
    known = read_known(session, bots, limits)
    past = read_past_entries(
        session, [item.bot.id for item in items if _may_enter(item, known[item.bot.id])]
    )
    at = ms_to_datetime(candle.close_time_ms)
    figures = DeskFigures(
        session,
        at,
        pnl_needed=any(limits[bot.id].desk.get("daily_loss_limit") is not None for bot in bots),
    )
    created: list[Signal] = []  # the quiet bots' signals, announced together
    rows = QuietRows(session, candle.open_time_ms)
    done = []
    with desk.use(session, figures), announce.signals_together(session):
        for number, item in enumerate(items):
            bot = item.bot
            before = memory.before(bot)
            equity = _one_bot(
                session, item, known[bot.id], timeframe, memory, figures, rows, past.get(bot.id)
            )
            created += item.created
            memory.after(bot, candle_open_ms=candle.open_time_ms, equity=equity, before=before)
            done.append(bot.id)
            if _paused_the_desk(bot, before):
                for later in bots[number + 1 :]:  # the pause changed their rows in the database
                    session.refresh(later)
        rows.close()
        announce.signals_created(session, created)
    return done


def _one_bot(
    session: Session,
    item: BatchItem,
    state: BotKnown,
    timeframe: str,
    memory: CandleMemory,
    figures: DeskFigures,
    rows: QuietRows,
    entries: PastEntries | None,
) -> Decimal:
    """One bot's candle in the batch, the desk's figures moved along with it; returns the
    equity its snapshot recorded."""
    bot, candle = item.bot, item.candle
    at = ms_to_datetime(candle.close_time_ms)
    held = [state.position] if state.position is not None else []
    everything = state.holding(state.position)
    here = account_from(bot=bot, realized=state.realized, fees=state.fees, open_positions=held)
    whole = account_from(
        bot=bot, realized=state.realized, fees=state.fees, open_positions=everything
    )
    baseline, peak = memory.measures(session, bot, at)
    figures.begin(
        BotStanding(
            bot_id=bot.id,
            exposure=whole.exposure,
            open_positions=len(everything),
            equity=whole.equity,
            baseline=baseline,
            peak=peak,
            entries=entries,
        )
    )

    def in_whole(equity: Decimal) -> Decimal:  # a snapshot's equity (its symbol's position)
        return whole.equity + equity - here.equity

    def measured(equity: Decimal) -> KnownMeasures:
        return KnownMeasures(
            baseline=baseline, peak=peak, desk_pnl=lambda: figures.desk_pnl(in_whole(equity))
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
            created=item.created,
            rows=rows,
        )
        exposure = whole.exposure + recorded.exposure - here.exposure
        open_positions = len(everything)
    else:
        recorded = process_candle(
            session,
            bot=bot,
            candle=candle,
            timeframe=timeframe,
            signal=item.signal,
            broker=item.broker,
            known=measured,
            before=state,
            rows=rows,
        )
        if state.books_moved:
            exposure, open_positions = measures.exposure_and_count(session=session, bot_id=bot.id)
        else:  # its positions as read, the one in its symbol marked (`state.position`)
            now = state.holding(state.position)
            exposure, open_positions = measures.exposure_of(now), len(now)
    figures.bot_done(
        exposure=exposure, open_positions=open_positions, equity=in_whole(recorded.equity)
    )
    return recorded.equity


def _may_enter(item: BatchItem, known: BotKnown) -> bool:
    """The bot may send an entry on this candle and has no resting order (so nothing
    buys for it before its entry check): its past entries are read with the batch's."""
    signal = item.signal
    if signal is None or signal.side != BUY or known.has_open_orders:
        return False
    return item.broker.quiet_without_orders and not is_quiet(item, known, item.candle)


def _paused_the_desk(bot: Bot, before: tuple) -> bool:
    reason = bot.status_reason or ""
    return reason != (before[1][2] or "") and reason.startswith(DAILY_LOSS_PAUSE)
