"""The bot runner: each of this engine's bots processes every closed candle of its
(symbol, timeframe) exactly once, in order.

The strategies are evaluated outside any transaction, each on its window of the candles
up to the one being processed (the shared in-memory window when the bot is up to date,
the candle table when it catches up after a restart; as long as its strategy declares,
`history_for`). Then all the bots of one timeframe that process a candle of the same open
time, whatever their symbol, do it in one transaction (`botdesk.engine.batch`), the
(symbol, timeframe) groups taking turns a candle each (one catching up on many candles
holds no other back; groups at the same candle share its batch): their rows are locked and
re-read, a bot stopped, paused, halted or handed to another engine meanwhile is left
alone, and a candle at or before a bot's cursor is never processed twice. A kill -9 at
any moment leaves either the whole batch or nothing. When a batch fails, it is rolled
back and each of its bots runs the candle in a transaction of its own, so one bot's fault
is recorded as that bot's error and the others go on. With leases (PostgreSQL) a pass
that lasts extends them as it goes (`leases.extend`).
"""

import gc
import logging
import time
from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass

from sqlmodel import Session, col, select

from botdesk.db import candles as candle_store
from botdesk.db import engine_state
from botdesk.db.models import ACTIVE_BOT_STATES, Bot, BotState
from botdesk.db.types import utcnow
from botdesk.engine import announce, leases
from botdesk.engine.batch import outcome as outcomes
from botdesk.engine.batch.candle import BatchItem, process_batch
from botdesk.engine.batch.memory import CandleMemory
from botdesk.engine.batch.plans import (
    Evaluations,
    PassOutcome,
    Plan,
    Windows,
    candle_at,
    history_for,
)
from botdesk.engine.brokers import BrokerUnavailable
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
ACTIVE = ACTIVE_BOT_STATES


class BotFailure(Exception):
    """A bot cannot go on (strategy error, invalid parameters, no broker); it goes to error."""


@dataclass
class _Compiled:
    key: tuple[str, str]
    strategy: Strategy


_settled = False  # settle_memory ran in this process


def settle_memory() -> None:
    """What the first pass loaded (modules, strategies, every bot's kept state) stays for
    the engine's life: moved out of the garbage collector's sight, so that its full
    collections, triggered by the many short-lived rows of each candle, no longer walk
    it (they took a tenth of a candle's time with 200 bots). Once per process."""
    global _settled
    if not _settled:
        _settled = True
        gc.collect()
        gc.freeze()


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
    """Runs this engine's bots; `batched=False` runs each bot's candle in a transaction of
    its own (the path before batching, kept to compare with and to fall back on)."""

    def __init__(self, runtime, market: MarketData, *, batched: bool = True):
        self.runtime = runtime
        self.market = market
        self.batched = batched
        self._compiled: dict[int, _Compiled] = {}
        self.memory = CandleMemory()
        self.symbols: set[str] = set()
        self.last_pass = PassOutcome()
        self._leases_extended = time.monotonic()

    @property
    def leased(self) -> bool:
        return not self.runtime.db.is_sqlite

    def run(self) -> int:
        """One pass over this engine's bots; returns how many candles were processed."""
        self.last_pass = PassOutcome()
        with self.runtime.db.reading() as session:
            if engine_state.get(session=session).kill_switch_engaged:
                return 0  # nothing trades while the kill switch is engaged
            bots = active_bots(
                session=session, engine_id=self.runtime.engine_id, leased=self.leased
            )
        self.symbols = {bot.symbol for bot in bots}
        self._leases_extended = time.monotonic()
        self._loaded: dict[tuple[str, str], CandleFrame] = {}  # for this pass only
        self._requested: dict[tuple[str, str], int] = {}
        self._earliest: dict[tuple[str, str], int] = {}
        self._windows = Windows()
        groups: dict[tuple[str, str], list[Bot]] = defaultdict(list)
        for bot in bots:
            groups[(bot.symbol, bot.timeframe)].append(bot)
        with shared_results():  # bots on one window share their indicators' results
            if self.batched:
                self._take_turns([self._run_group(members) for members in groups.values()])
            else:
                for bot in (bot for members in groups.values() for bot in members):
                    self._run_alone(bot)
        if self.last_pass.processed:
            settle_memory()
        return self.last_pass.processed

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

    def keep_leases(self) -> None:
        """Extend this engine's leases when a third of their time has gone by in this pass."""
        if not self.leased:
            return
        if time.monotonic() - self._leases_extended < self.runtime.settings.LEASE_SECONDS / 3:
            return
        leases.extend(self.runtime)
        self._leases_extended = time.monotonic()

    def _fail(self, bot: Bot, failure: BotFailure) -> None:
        log.warning("bot %s stopped with an error: %s", bot.name, failure)
        with self.runtime.db.writing() as session:
            set_error(session, bot.id, str(failure))
        self.memory.forget(bot.id)
        batch = outcomes.CandleOutcome(bot_errors=[(bot.id, str(failure))])
        self.last_pass.batches.append(batch)

    # the batched path

    def _plan(self, bot: Bot) -> Plan | None:
        window = self.market.frame(bot.symbol, bot.timeframe)
        if not len(window):
            return None
        if bot.last_candle_ms is None:  # a bot just started trades from the next candle on
            self._start_cursor(bot, window.last_open_ms)
            self.keep_leases()
            return None
        if window.last_open_ms <= bot.last_candle_ms:
            return None
        strategy = self.strategy_for(bot)
        try:
            broker = self.runtime.brokers.get(bot.broker)
        except BrokerUnavailable as error:
            raise BotFailure(str(error)) from None
        if strategy.higher_timeframes and (
            why := registry.timeframe_refusal(strategy, bot.timeframe)
        ):
            raise BotFailure(f"cannot run on {bot.timeframe} candles: {why}")
        size = history_for(strategy, self.market.window, bot.timeframe)
        if size > self.market.window_of(bot.symbol, bot.timeframe):
            with self.runtime.db.reading() as session:  # the window grows for this strategy
                self.market.require(
                    session=session, symbol=bot.symbol, timeframe=bot.timeframe, size=size
                )
            window = self.market.frame(bot.symbol, bot.timeframe)
        history = self._history(bot, window, broker.replays_missed_candles, size)
        start = int(history.open_time_ms.searchsorted(bot.last_candle_ms, side="right"))
        if not broker.replays_missed_candles:  # an exchange cannot trade in the past
            start = max(start, len(history) - 1)
        end = min(len(history), start + MAX_CANDLES_PER_RUN)
        if start >= end:
            return None
        return Plan(bot, strategy, broker, history, start, end, size)

    def _take_turns(self, groups: list[Generator]) -> None:
        """Each group takes its next candle in turn, so a group catching up on many
        candles does not hold the others back until it is through. The groups whose next
        candle has the same timeframe and open time (the symbols' candles of one minute)
        process it in one batch: one transaction, one read of what a batch reads."""
        told: dict[Generator, set[int] | None] = dict.fromkeys(groups)  # first: None
        while told:
            turn: dict[tuple[str, int], list] = defaultdict(list)
            for group, advanced in list(told.items()):
                try:
                    key, items = group.send(advanced)
                except StopIteration:
                    del told[group]
                    continue
                turn[key].append((group, items))
            for (_timeframe, open_ms), members in turn.items():
                items = [item for _group, group_items in members for item in group_items]
                advanced = self._process_together(items, open_ms)
                for group, _items in members:
                    told[group] = advanced

    def _run_group(self, bots: list[Bot]) -> Generator:
        """The group's candles, oldest first: yields ((timeframe, open time), its bots'
        (plan, signal) on that candle) and is sent back the ids of the bots whose cursor
        is now at that candle (`_process_together`)."""
        self._start_cursors([bot for bot in bots if bot.last_candle_ms is None])
        cursors = [bot.last_candle_ms for bot in bots if bot.last_candle_ms is not None]
        if cursors:  # the history of bots catching up is loaded once, from the earliest
            self._earliest[(bots[0].symbol, bots[0].timeframe)] = min(cursors)
        plans = []
        for bot in bots:
            if bot.last_candle_ms is None:
                continue
            try:
                plan = self._plan(bot)
            except BotFailure as failure:
                self._fail(bot, failure)
                continue
            if plan is not None:
                plans.append(plan)
        while plans:
            open_ms = min(plan.next_open_ms for plan in plans)
            due = [plan for plan in plans if plan.next_open_ms == open_ms]
            items = []
            evaluations = Evaluations(evaluate)
            for plan in due:
                frame = self._windows.frame(plan)
                try:
                    signals = evaluations.signals(plan, frame)
                except StrategyError as error:
                    log.warning("bot %s: %s\n%s", plan.bot.name, error, error.traceback)
                    self._fail(plan.bot, BotFailure(str(error)))
                    plans.remove(plan)
                    continue
                signal = StrategySignal.from_frame(signals, len(frame) - 1)
                items.append((plan, signal))
                self.keep_leases()  # evaluating many slow strategies takes time too
            advanced = yield (bots[0].timeframe, open_ms), items
            for plan, _signal in items:
                if plan.bot.id in advanced:
                    plan.index += 1
                    plan.done += 1
                if plan.bot.id not in advanced or plan.index >= plan.end:
                    plans.remove(plan)
            self.keep_leases()

    def _process_together(self, items: list, open_ms: int) -> set[int]:
        """One candle for several bots in one transaction; the ids of the bots whose
        cursor is now at `open_ms`. A failed batch runs each bot on its own instead."""
        if not items:
            return set()
        plan = items[0][0]
        candle = candle_at(plan.history, plan.index, plan.bot.timeframe)
        batch = outcomes.CandleOutcome(candle_open_ms=open_ms)
        started = time.perf_counter()
        try:
            with self.runtime.db.writing() as session:
                outcomes.watch(session, batch)
                locked = self._lock_many(session, [plan.bot.id for plan, _ in items])
                todo, already = [], set()
                for plan, signal in items:
                    row = locked.get(plan.bot.id)
                    if row is None:
                        continue
                    if row.last_candle_ms is not None and row.last_candle_ms >= open_ms:
                        already.add(row.id)  # another engine, or an earlier pass, did it
                        continue
                    own = candle_at(plan.history, plan.index, plan.bot.timeframe)
                    todo.append(BatchItem(row, signal, plan.broker, candle=own))
                done = process_batch(
                    session,
                    items=todo,
                    candle=candle,
                    timeframe=plan.bot.timeframe,
                    memory=self.memory,
                )
        except Exception as error:  # one bot's fault (or the database's): each on its own
            log.warning(
                "batch of %d bots at %s failed (%s); running them one by one",
                len(items),
                open_ms,
                error,
            )
            return self._one_by_one(items)
        for plan, _ in items:
            if plan.bot.id in done:
                plan.bot.last_candle_ms = open_ms
        batch.processed = done
        self._observe(started, len(done))
        self.last_pass.processed += len(done)
        self.last_pass.batches.append(batch)
        return set(done) | already

    def _one_by_one(self, items: list) -> set[int]:
        advanced = set()
        for plan, signal in items:
            self.memory.forget(plan.bot.id)
            batch = outcomes.CandleOutcome(candle_open_ms=plan.next_open_ms, fell_back=True)
            started = time.perf_counter()
            try:
                moved = self._process(
                    plan.bot, plan.history, plan.index, signal, plan.broker, batch
                )
            except BotFailure as failure:
                self._fail(plan.bot, failure)
                continue
            except Exception:  # a database hiccup: retried on the next pass
                log.exception("bot %s: candle processing failed; will retry", plan.bot.name)
                continue
            if moved:
                self._observe(started, 1)
                advanced.add(plan.bot.id)
                batch.processed = [plan.bot.id]
                self.last_pass.processed += 1
                self.last_pass.batches.append(batch)
        return advanced

    def _observe(self, started: float, bot_candles: int) -> None:
        """The metrics' candle cost: a batch's time shared by its bot-candles."""
        if bot_candles:
            seconds = (time.perf_counter() - started) / bot_candles
            self.runtime.metrics.observe_candle(seconds, bot_candles)

    def _lock_many(self, session: Session, bot_ids: list[int]) -> dict[int, Bot]:
        """The bot rows, locked, that this engine may still trade."""
        rows = session.exec(
            select(Bot).where(col(Bot.id).in_(bot_ids)).order_by(col(Bot.id)).with_for_update()
        ).all()
        return {bot.id: bot for bot in rows if self._may_trade(bot)}

    # the per-bot path

    def _run_alone(self, bot: Bot) -> None:
        try:
            plan = self._plan(bot)
            while plan is not None and plan.index < plan.end:
                frame = self._windows.frame(plan)
                try:
                    signals = evaluate(plan.strategy, frame)
                except StrategyError as error:
                    log.warning("bot %s: %s\n%s", bot.name, error, error.traceback)
                    raise BotFailure(str(error)) from None
                signal = StrategySignal.from_frame(signals, len(frame) - 1)
                batch = outcomes.CandleOutcome(candle_open_ms=plan.next_open_ms)
                started = time.perf_counter()
                if not self._process(bot, plan.history, plan.index, signal, plan.broker, batch):
                    break
                self._observe(started, 1)
                batch.processed = [bot.id]
                self.last_pass.processed += 1
                self.last_pass.batches.append(batch)
                plan.index += 1
                self.keep_leases()
        except BotFailure as failure:
            self._fail(bot, failure)
        except Exception:  # a database hiccup: retried on the next pass
            log.exception("bot %s: candle processing failed; will retry", bot.name)

    def _history(self, bot: Bot, window: CandleFrame, replay: bool, size: int) -> CandleFrame:
        """Candles from `window` back to the bot's cursor, with `size` before it for the
        strategy; loaded from the candle table when the window does not reach back (once
        per pass for all the bots of a (symbol, timeframe) catching up together)."""
        if window.open_time_ms[0] <= bot.last_candle_ms or not replay:
            return window
        length = timeframe_ms(bot.timeframe)
        from_ms = bot.last_candle_ms - (size - 1) * length
        key = (bot.symbol, bot.timeframe)
        loaded = self._loaded.get(key)
        if (
            loaded is not None
            and loaded.last_open_ms == window.last_open_ms
            # it reaches back far enough, or the table holds nothing earlier
            and (
                (len(loaded) and loaded.open_time_ms[0] <= from_ms)
                or self._requested[key] <= from_ms
            )
        ):
            return loaded
        earliest = min(from_ms, self._earliest.get(key, from_ms) - (size - 1) * length)
        with self.runtime.db.reading() as session:
            rows = candle_store.between(
                session=session,
                symbol=bot.symbol,
                timeframe=bot.timeframe,
                from_ms=earliest,
                to_ms=window.last_open_ms,
            )
        loaded = self._loaded[key] = CandleFrame.from_rows(rows)
        self._requested[key] = earliest
        return loaded

    def _start_cursors(self, bots: list[Bot]) -> None:
        """Bots just started trade from the next candle on: their cursors, in one go."""
        if not bots:
            return
        window = self.market.frame(bots[0].symbol, bots[0].timeframe)
        if not len(window):
            return
        with self.runtime.db.writing() as session:
            for row in self._lock_many(session, [bot.id for bot in bots]).values():
                if row.last_candle_ms is None:
                    row.last_candle_ms = window.last_open_ms
                    session.add(row)
        self.keep_leases()

    def _start_cursor(self, bot: Bot, last_open_ms: int) -> None:
        with self.runtime.db.writing() as session:
            row = self._lock(session, bot.id)
            if row is not None and row.last_candle_ms is None:
                row.last_candle_ms = last_open_ms
                session.add(row)

    def _may_trade(self, bot: Bot | None) -> bool:
        if bot is None or bot.desired_state not in ACTIVE or bot.status != bot.desired_state:
            return False
        return not self.leased or (
            bot.lease_owner == self.runtime.engine_id
            and bot.lease_expires_at is not None
            and bot.lease_expires_at > utcnow()
        )

    def _lock(self, session: Session, bot_id: int) -> Bot | None:
        """The bot row, locked, if this engine may still trade it."""
        bot = session.exec(select(Bot).where(Bot.id == bot_id).with_for_update()).first()
        return bot if self._may_trade(bot) else None

    def _process(self, bot: Bot, history, index: int, signal, broker, batch=None) -> bool:
        row = history.row(index)
        candle = candle_at(history, index, bot.timeframe)
        try:
            with self.runtime.db.writing() as session:
                if batch is not None:
                    outcomes.watch(session, batch)
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
