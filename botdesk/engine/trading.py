"""What a bot does on a closed candle, and how any signal becomes an order.

`process_candle` runs inside the bot's one write transaction for that candle:
1. the broker matches the bot's resting orders (a market order from the previous candle's
   signal fills at this candle's open); a filled entry takes its signal's stop-loss and
   take-profit;
2. the open position's stop-loss / take-profit are checked inside this candle (stop
   first) and an exit is sent through the order path; if none is touched, a trailing
   stop or breakeven moves the stop up for the next candles (`botdesk.engine.risk.watch`);
3. the position is marked to this candle's close;
4. the strategy's signal for this candle (if any) is stored and acted on: a buy opens a
   position (not while paused, not when one is open), a sell closes it; by a market
   order, or by a limit order when the signal asks for one (`SignalFrame.limit`), good
   till cancelled or till the close of its last candle (`limit_candles`);
5. an equity snapshot is written, the breaches are checked (daily loss, drawdown: they
   pause the bot; `botdesk.engine.risk.breaches`) and the bot's cursor moves here.
A paused bot's resting buys are cancelled first; rejected orders feed the circuit breaker.
"""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from botdesk.db import protections
from botdesk.db.models import (
    Bot,
    BotState,
    Order,
    OrderType,
    Position,
    Side,
    Signal,
    SignalStatus,
)
from botdesk.engine import announce, fill_rules
from botdesk.engine.accounts import Account, account, account_from, snapshot, snapshot_values
from botdesk.engine.batch.known import BotKnown
from botdesk.engine.batch.quiet_rows import QuietRows
from botdesk.engine.brokers.base import (
    Broker,
    CandlePrices,
    MarketContext,
    ms_to_datetime,
)
from botdesk.engine.frames import BUY, SELL, SignalFrame, to_decimal
from botdesk.engine.ledger import ZERO, mark_to_market, open_position, record_fill
from botdesk.engine.limit_orders import (
    LimitTerms,
    cancel_expired,
    cancel_resting_sells,
    open_orders,
    terms_for,
)
from botdesk.engine.orders import (
    Held,
    OrderRefused,
    OrderRequest,
    protective_order_id,
    signal_order_id,
    submit,
)
from botdesk.engine.risk import breaches, watch
from botdesk.engine.sizing import size_entry

log = logging.getLogger(__name__)

UNREAD = object()  # act_on_signal reads the position itself


@dataclass(frozen=True)
class StrategySignal:
    """One row of a strategy's signal frame."""

    side: int
    confidence: float
    stop: float
    take_profit: float
    reason: str
    limit: float = math.nan  # a limit order at this price (NaN: a market order)
    limit_candles: int = 0  # candles the limit is good for after this one (0: until cancelled)

    @classmethod
    def from_frame(cls, frame: SignalFrame, index: int) -> "StrategySignal | None":
        side = int(frame.side[index])
        if side not in (BUY, SELL):
            return None
        limit = frame.limit_at(index)
        return cls(
            side,
            float(frame.confidence[index]),
            float(frame.stop[index]),
            float(frame.take_profit[index]),
            str(frame.reason[index]),
            *(limit or ()),
        )

    def limit_terms(self, candle: CandlePrices, timeframe: str) -> LimitTerms | None:
        """The limit order this signal on `candle` asks for (None: a market order)."""
        if math.isnan(self.limit):
            return None
        return terms_for(self.limit, self.limit_candles, candle, timeframe)


def process_candle(
    session: Session,
    *,
    bot: Bot,
    candle: CandlePrices,
    timeframe: str,
    signal: StrategySignal | None,
    broker: Broker,
    known: Callable[[Decimal], breaches.KnownMeasures] | None = None,
    before: BotKnown | None = None,
    rows: QuietRows | None = None,
) -> Account:
    """Process one closed candle for one bot (see the module docstring); returns the
    account its equity snapshot recorded. `known` (the batched path) gives, for the equity just
    recorded, the measures the breaches would otherwise read; `before`, what the batch
    read of the bot for this candle: a paper bot with no resting order has nothing for
    the broker to match (nor a failure for the circuit breaker, unless it is a
    candidate), keeps the position the batch read and has no open order for its signal
    to wait on, none of which is read again; nor are its positions, P&L and fees while no
    fill moved them. `rows`: the batch's, which writes the bot's snapshot and cursor with the
    others'."""
    market = MarketContext(
        symbol=bot.symbol,
        at=ms_to_datetime(candle.close_time_ms),
        last_price=candle.close,
        candle=candle,
    )
    breaches.before_candle(session, bot, broker)
    cancel_expired(session, bot, broker, candle)
    resting = before is None or before.has_open_orders or not broker.quiet_without_orders
    fills = broker.on_candle(session, bot, market) if resting else []
    for fill in fills:
        order = session.get(Order, fill.order_id)
        record_fill(session=session, order=order, fill=fill)
        if order.side == Side.BUY:
            protect_from_signal(session, order)
    if resting or before.breaker_candidate:
        breaches.trip_circuit_breaker(session, bot, broker)
    if fills and before is not None:
        before.books_moved = True
    if fills or before is None:
        position = open_position(session=session, bot_id=bot.id, symbol=bot.symbol)
    else:
        position = before.position
    if position is not None and _watch_exits(session, bot, position, broker, market):
        position = open_position(session=session, bot_id=bot.id, symbol=bot.symbol)
        if before is not None:
            before.books_moved = True
    if position is not None:
        mark_to_market(position, candle.close)
        session.add(position)
    if signal is not None:
        row = signal_row(bot, candle, timeframe, signal)
        session.add(row)
        session.flush()
        limit = signal.limit_terms(candle, timeframe)
        order = act_on_signal(
            session, bot=bot, signal=row, broker=broker, market=market, limit=limit,
            position=position, pending=UNREAD if resting else [],
            held=_held(bot, before, position),
        )  # fmt: skip
        if before is None or before.books_moved or (order is not None and order.filled_quantity):
            position = open_position(session=session, bot_id=bot.id, symbol=bot.symbol)
            if before is not None:
                before.books_moved = True
    here = [position] if position is not None else []
    if before is None or before.books_moved:
        recorded = account(session=session, bot=bot, open_positions=here)
    else:
        recorded = account_from(
            bot=bot, realized=before.realized, fees=before.fees, open_positions=here
        )
    at, open_ms = market.at, candle.open_time_ms
    if rows is not None:
        rows.snapshot(snapshot_values(bot=bot, at=at, candle_open_ms=open_ms, state=recorded))
    else:
        snapshot(session=session, bot=bot, at=at, candle_open_ms=open_ms, state=recorded)
    measured = known(recorded.equity) if known is not None else None
    breaches.after_candle(session, bot, broker, market.at, recorded.equity, measured)
    if rows is not None:
        rows.cursor(bot)
    else:
        bot.last_candle_ms = candle.open_time_ms
        session.add(bot)
    if before is not None:
        before.position = position
    return recorded


def _held(bot: Bot, before: BotKnown | None, position: Position | None) -> Held | None:
    """The bot's position and account as the batch read them, while no fill has moved
    them in this candle (None: the order path reads them)."""
    if before is None or before.books_moved:
        return None
    everything = before.holding(position)
    book = account_from(
        bot=bot, realized=before.realized, fees=before.fees, open_positions=everything
    )
    return Held(position, book, everything)


def signal_row(bot: Bot, candle: CandlePrices, timeframe: str, signal: StrategySignal) -> Signal:
    """The stored form of a strategy's signal on `candle`."""
    return Signal(
        bot_id=bot.id,
        dedupe_key=f"c:{candle.open_time_ms}",
        source="strategy",
        symbol=bot.symbol,
        timeframe=timeframe,
        candle_open_ms=candle.open_time_ms,
        side=Side.BUY if signal.side == BUY else Side.SELL,
        confidence=signal.confidence,
        price=candle.close,
        stop=None if math.isnan(signal.stop) else to_decimal(signal.stop),
        take_profit=None if math.isnan(signal.take_profit) else to_decimal(signal.take_profit),
        reason=signal.reason,
    )


def foregone(
    bot: Bot, side: str, position: Position | None, pending: list[Order], source: str
) -> str | None:
    """Why a signal is ignored before any order is thought of (None: it is acted on)."""
    if side == Side.BUY:
        if bot.desired_state == BotState.PAUSED:
            return "bot is paused: it manages its position, opens nothing"
        if any(order.side == Side.BUY for order in pending):
            return "a buy order is already open"
        if position is not None and source == "strategy":
            return "already in a position"
        return None
    if position is None:
        return "no position to sell (spot bots are long-only)"
    if any(order.side == Side.SELL for order in pending):
        return "an exit order is already open"
    return None


def quiet_candle(
    session: Session,
    *,
    bot: Bot,
    candle: CandlePrices,
    timeframe: str,
    signal: StrategySignal | None,
    position: Position | None,
    realized: Decimal,
    fees: Decimal,
    broker: Broker,
    known: Callable[[Decimal], breaches.KnownMeasures],
    created: list[Signal],
    rows: QuietRows,
) -> Account:
    """`process_candle` for a bot to which nothing happens on this candle: no resting
    order, no stop or take-profit touched, no circuit breaker to look at, no signal or
    one that is `foregone` (the batched path, `botdesk.engine.batch.candle`, decides).
    The same steps with the state the batch read (`position`, the bot's `realized` P&L
    and `fees`, `known` measures), adding and changing rows without reading any: the
    trailing stop ratchets, the position is marked, the signal is stored as ignored (and
    added to `created`: the batch announces its signals together,
    `announce.signals_created`), the snapshot and the breaches follow. The snapshot and
    the cursor go to `rows`, written with the other quiet bots' (their values, not ORM
    objects); returns the account the snapshot recorded."""
    at = ms_to_datetime(candle.close_time_ms)
    if position is not None:
        market = MarketContext(symbol=bot.symbol, at=at, last_price=candle.close, candle=candle)
        _ratchet(session, bot, position, broker, market)
        mark_to_market(position, candle.close)
        session.add(position)
    if signal is not None:
        row = signal_row(bot, candle, timeframe, signal)
        row.status = SignalStatus.IGNORED
        row.status_reason = foregone(bot, row.side, position, [], row.source)
        session.add(row)
        created.append(row)
    held = [position] if position is not None else []
    state = account_from(bot=bot, realized=realized, fees=fees, open_positions=held)
    rows.snapshot(snapshot_values(bot=bot, at=at, candle_open_ms=candle.open_time_ms, state=state))
    breaches.after_candle(session, bot, broker, at, state.equity, known(state.equity))
    rows.cursor(bot)
    return state


def act_on_signal(
    session: Session,
    *,
    bot: Bot,
    signal: Signal,
    broker: Broker,
    market: MarketContext,
    purpose: str | None = None,
    candle_open_ms: int | None = None,
    limit: LimitTerms | None = None,
    position: Position | object | None = UNREAD,
    pending: list[Order] | object = UNREAD,
    held: Held | None = None,
) -> Order | None:
    """Turn a stored signal into an order through the order path, or say why not.

    A buy opens a position sized on the bot's cash (a strategy buy while a position is
    open is ignored; a webhook buy adds to it); nothing opens while the bot is paused. A
    sell closes the whole position. With `limit`, the order is a limit order at its price
    (a buy sized on it). The outcome is in the signal's status and reason.
    Without a candle in `market` (a command), `candle_open_ms` is the newest closed candle
    of the bot's timeframe: a paper market order fills at the open of the one after it.
    `position`: the bot's open position in its symbol (or None) when the caller has it at
    hand as it stands; a buy's order is checked against it and the account read here.
    `pending`: its open orders (`limit_orders.open_orders`), likewise.
    `held`: its position (the same as `position`) and account as they stand, with all
    its open positions, when the caller has them (a buy's sizing and check read none).
    """
    if signal.status == SignalStatus.NEW:
        announce.signal_changed(session, signal)  # signal.created, for subscribers' webhooks
    if position is UNREAD:
        position = open_position(session=session, bot_id=bot.id, symbol=bot.symbol)
    if pending is UNREAD:
        pending = open_orders(session, bot)
    reason = foregone(bot, signal.side, position, pending, signal.source)
    if reason is not None:
        return _ignore(session, signal, reason)
    if signal.side == Side.BUY:
        price = market.last_price if limit is None else limit.price
        if held is None:
            held = Held(position, account(session=session, bot=bot))
        quantity = size_entry(
            session=session,
            bot=bot,
            price=price,
            stop=signal.stop,
            cash=held.book.cash,
            position_quantity=position.quantity if position is not None else ZERO,
            fee_rate=broker.fee_rate,
            slippage_bps=broker.slippage_bps,
        )
        side, default_purpose = Side.BUY, "entry"
    else:
        held = None  # a sell's check reads them itself
        price = market.last_price if limit is None else limit.price
        quantity = position.quantity
        side, default_purpose = Side.SELL, "exit"
    terms = {}
    if limit is not None:
        terms = dict(
            type=OrderType.LIMIT,
            price=limit.price,
            time_in_force=limit.time_in_force,
            expires_at=limit.expires_at,
        )
    request = OrderRequest(
        bot=bot,
        side=side,
        quantity=quantity,
        purpose=purpose or default_purpose,
        client_order_id=signal_order_id(bot.id, signal.id),
        reference_price=price,
        signal=signal,
        candle_open_ms=market.candle.open_time_ms if market.candle else candle_open_ms,
        **terms,
    )
    try:
        return submit(session, request, broker=broker, market=market, held=held)
    except OrderRefused as refusal:
        log.info("bot %s: %s signal %s refused: %s", bot.name, side, signal.id, refusal)
        return None


def _ignore(session: Session, signal: Signal, reason: str) -> None:
    signal.status = SignalStatus.IGNORED
    signal.status_reason = reason
    session.add(signal)
    return None


def protect_from_signal(session: Session, order: Order) -> None:
    """A filled buy takes the stop-loss and take-profit of the signal that opened it, and
    the bot's trailing-stop and breakeven settings."""
    position = open_position(session=session, bot_id=order.bot_id, symbol=order.symbol)
    if position is None:
        return
    watch.configure(session, position)
    signal = session.get(Signal, order.signal_id) if order.signal_id is not None else None
    if signal is None:
        return
    if signal.stop is not None:
        position.stop_price = signal.stop
    if signal.take_profit is not None:
        position.take_profit = signal.take_profit
    session.add(position)


def _ratchet(
    session: Session, bot: Bot, position: Position, broker: Broker, market: MarketContext
) -> None:
    """The trailing stop and breakeven move the stop; the venue's copy follows."""
    before = position.stop_price
    watch.ratchet(session, bot, position, market.candle)
    if position.stop_price != before:
        broker.protection_changed(session, position, market)


def _watch_exits(
    session: Session, bot: Bot, position: Position, broker: Broker, market: MarketContext
) -> bool:
    """Send the stop-loss (or trailing stop) or take-profit exit if this candle touched
    one; True if sent. Otherwise move the stop up for the next candles (`watch.ratchet`)
    and tell the broker when it moved. While the exchange holds the position's
    protection, the exchange sells at the level, never the engine (no second sell)."""
    candle = market.candle
    hit = fill_rules.first_protective_exit(
        [candle.high], [candle.low], stop=position.stop_price, take_profit=position.take_profit
    )
    if hit is None:
        _ratchet(session, bot, position, broker, market)
        return False
    if protections.held_at_exchange(session=session, position_id=position.id):
        return False
    is_stop = hit.reason == fill_rules.STOP_LOSS
    level = position.stop_price if is_stop else position.take_profit
    purpose = "trailing_stop" if is_stop and watch.trails(position) else hit.reason
    cancel_resting_sells(session, bot, broker, f"the position's {purpose} exit sells it all")
    request = OrderRequest(
        bot=bot,
        side=Side.SELL,
        quantity=position.quantity,
        purpose=purpose,
        client_order_id=protective_order_id(bot.id, position.id, purpose),
        type=OrderType.STOP if is_stop else OrderType.LIMIT,
        stop_price=level if is_stop else None,
        price=None if is_stop else level,
        reference_price=level,
        candle_open_ms=candle.open_time_ms,
    )
    try:
        submit(session, request, broker=broker, market=market)
    except OrderRefused as refusal:
        log.warning("bot %s: %s refused: %s", bot.name, purpose, refusal)
    return True
