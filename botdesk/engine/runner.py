"""The bot runner: each of this engine's bots processes every closed candle of its
(symbol, timeframe) exactly once, in order, one write transaction per bot and candle.

The strategy is evaluated outside the transaction, on the window of the candles up to
the one being processed (the shared in-memory window when the bot is up to date, the
candle table when it catches up after a restart). Inside the transaction the bot row is
locked and re-read: a bot stopped, paused, halted or handed to another engine meanwhile
is left alone, and a candle at or before the cursor is never processed twice. A kill -9
at any moment leaves either the whole candle or nothing.
"""

import logging
import time
from dataclasses import dataclass

from sqlmodel import Session, col, select

from botdesk.db import candles as candle_store
from botdesk.db import engine_state
from botdesk.db.models import Bot, BotState
from botdesk.db.types import utcnow
from botdesk.engine import announce
from botdesk.engine.brokers import BrokerUnavailable
from botdesk.engine.brokers.base import CandlePrices
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators.shared import shared_results
from botdesk.engine.ledger import LedgerError
from botdesk.engine.market import MarketData
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import Strategy
from botdesk.engine.strategies.safe import StrategyError, evaluate
from botdesk.engine.timeframes import timeframe_ms
from botdesk.engine.trading import StrategySignal, process_candle

log = logging.getLogger(__name__)

MAX_CANDLES_PER_RUN = 500  # per bot and run, so one bot catching up cannot starve the rest
ACTIVE = (BotState.RUNNING, BotState.PAUSED)


class BotFailure(Exception):
    """A bot cannot go on (strategy error, invalid parameters, no broker); it goes to error."""


@dataclass
class _Compiled:
    key: tuple[str, str]
    strategy: Strategy


def active_bots(*, session: Session, engine_id: str, leased: bool) -> list[Bot]:
    """Bots this engine runs: running or paused as asked, and (with leases) leased by it."""
    query = select(Bot).where(
        col(Bot.desired_state).in_(ACTIVE), col(Bot.status) == col(Bot.desired_state)
    )
    if leased:
        query = query.where(Bot.lease_owner == engine_id, col(Bot.lease_expires_at) > utcnow())
    return list(session.exec(query.order_by(col(Bot.id))).all())


def set_error(session: Session, bot_id: int, message: str) -> None:
    bot = session.get(Bot, bot_id)
    if bot is None:
        return
    bot.status = BotState.ERROR
    bot.status_reason = message[:2000]
    bot.status_changed_at = utcnow()
    session.add(bot)
    announce.bot_error(session, bot, message)
    # kept on the desk's Logs page with the bot's id (the log keeper reads `bot_id`)
    log.error("bot %s (%s) is in error: %s", bot.name, bot.id, message, extra={"bot_id": bot.id})


class BotRunner:
    def __init__(self, runtime, market: MarketData):
        self.runtime = runtime
        self.market = market
        self._compiled: dict[int, _Compiled] = {}
        self.symbols: set[str] = set()

    @property
    def leased(self) -> bool:
        return not self.runtime.db.is_sqlite

    def run(self) -> int:
        """One pass over this engine's bots; returns how many candles were processed."""
        with self.runtime.db.reading() as session:
            if engine_state.get(session=session).kill_switch_engaged:
                return 0  # nothing trades while the kill switch is engaged
            bots = active_bots(
                session=session, engine_id=self.runtime.engine_id, leased=self.leased
            )
        self.symbols = {bot.symbol for bot in bots}
        done = 0
        with shared_results():  # bots on one window share their indicators' results
            for bot in bots:
                try:
                    done += self._run_bot(bot)
                except BotFailure as failure:
                    log.warning("bot %s stopped with an error: %s", bot.name, failure)
                    with self.runtime.db.writing() as session:
                        set_error(session, bot.id, str(failure))
                except Exception:  # a database hiccup: retried on the next pass
                    log.exception("bot %s: candle processing failed; will retry", bot.name)
        return done

    def strategy_for(self, bot: Bot) -> Strategy:
        key = (bot.strategy, bot.params)
        compiled = self._compiled.get(bot.id)
        if compiled is None or compiled.key != key:
            try:
                strategy = registry.create_from_json(bot.strategy, bot.params)
            except ValueError as error:  # UnknownStrategy, InvalidParams, bad JSON
                raise BotFailure(f"invalid strategy settings: {error}") from None
            compiled = self._compiled[bot.id] = _Compiled(key, strategy)
        return compiled.strategy

    def _run_bot(self, bot: Bot) -> int:
        window = self.market.frame(bot.symbol, bot.timeframe)
        if not len(window):
            return 0
        if bot.last_candle_ms is None:  # a bot just started trades from the next candle on
            self._start_cursor(bot, window.last_open_ms)
            return 0
        if window.last_open_ms <= bot.last_candle_ms:
            return 0
        strategy = self.strategy_for(bot)
        try:
            broker = self.runtime.brokers.get(bot.broker)
        except BrokerUnavailable as error:
            raise BotFailure(str(error)) from None
        history = self._history(bot, window, broker.replays_missed_candles)
        start = int(history.open_time_ms.searchsorted(bot.last_candle_ms, side="right"))
        if not broker.replays_missed_candles:  # an exchange cannot trade in the past
            start = max(start, len(history) - 1)
        size = self.market.window
        done = 0
        for index in range(start, min(len(history), start + MAX_CANDLES_PER_RUN)):
            frame = history[max(0, index - size + 1) : index + 1]
            try:
                signals = evaluate(strategy, frame)
            except StrategyError as error:
                log.warning("bot %s: %s\n%s", bot.name, error, error.traceback)
                raise BotFailure(str(error)) from None
            signal = StrategySignal.from_frame(signals, len(frame) - 1)
            started = time.perf_counter()
            if not self._process(bot, history, index, signal, broker):
                break
            self.runtime.metrics.observe_candle(time.perf_counter() - started)
            done += 1
        return done

    def _history(self, bot: Bot, window: CandleFrame, replay: bool) -> CandleFrame:
        """Candles from `window` back to the bot's cursor, with enough before it for the
        strategy; loaded from the candle table when the window does not reach back."""
        if window.open_time_ms[0] <= bot.last_candle_ms or not replay:
            return window
        length = timeframe_ms(bot.timeframe)
        with self.runtime.db.reading() as session:
            rows = candle_store.between(
                session=session,
                symbol=bot.symbol,
                timeframe=bot.timeframe,
                from_ms=bot.last_candle_ms - (self.market.window - 1) * length,
                to_ms=window.last_open_ms,
            )
        return CandleFrame.from_rows(rows)

    def _start_cursor(self, bot: Bot, last_open_ms: int) -> None:
        with self.runtime.db.writing() as session:
            row = self._lock(session, bot.id)
            if row is not None and row.last_candle_ms is None:
                row.last_candle_ms = last_open_ms
                session.add(row)

    def _lock(self, session: Session, bot_id: int) -> Bot | None:
        """The bot row, locked, if this engine may still trade it."""
        bot = session.exec(select(Bot).where(Bot.id == bot_id).with_for_update()).first()
        if bot is None or bot.desired_state not in ACTIVE or bot.status != bot.desired_state:
            return None
        if self.leased and (
            bot.lease_owner != self.runtime.engine_id
            or bot.lease_expires_at is None
            or bot.lease_expires_at <= utcnow()
        ):
            return None
        return bot

    def _process(self, bot: Bot, history: CandleFrame, index: int, signal, broker) -> bool:
        row = history.row(index)
        length = timeframe_ms(bot.timeframe)
        candle = CandlePrices(
            open_time_ms=row["open_time_ms"],
            close_time_ms=row["open_time_ms"] + length,
            open=row["open"],
            high=row["high"],
            low=row["low"],
            close=row["close"],
        )
        try:
            with self.runtime.db.writing() as session:
                locked = self._lock(session, bot.id)
                if locked is None:
                    return False
                if (
                    locked.last_candle_ms is not None
                    and locked.last_candle_ms >= row["open_time_ms"]
                ):
                    return True  # already done (another engine, or an earlier pass)
                process_candle(
                    session,
                    bot=locked,
                    candle=candle,
                    timeframe=bot.timeframe,
                    signal=signal,
                    broker=broker,
                )
        except LedgerError as error:
            raise BotFailure(f"ledger error: {error}") from None
        bot.last_candle_ms = row["open_time_ms"]
        return True
