"""Trades: one row per round trip (a position from its first fill back to flat), built from
its fills, and each bot's performance over its closed trades.

Every fill names its position (`fill.position_id`), so a trade is its fills summed in SQL:
the quantity bought and its cost, what was sold and its proceeds, the fees, the realized
P&L (net of every fee, so it is the position's `realized_pnl` to the unit). A notional is
`quantize(quantity x price)` as the ledger books it, computed exactly in integer units by
`notional_units` on SQLite and PostgreSQL alike. Each sell order of a trade is one of its
exits: a trade with several is one with partial exits.

Definitions (ratios are shares: 0.01 is 1 %, 8 decimals, rounded half-even):
- entry and exit price: the average price of the buys and of the sells (each fill's
  quantity x price summed exactly, over the quantity);
- P&L ratio = P&L / cost of the buys; duration = last fill - first fill (closed trades);
- entry signal: the signal of the trade's first buy order; exit reason: the purpose of the
  order that closed it (exit, stop_loss, take_profit, trailing_stop, close, flatten...),
  with the operator's reason when a command (close, flatten) sent it.
Performance counts closed trades only, in the order they closed: win rate (P&L > 0),
average and total (sum) of the trades' P&L ratios, total P&L, profit factor (gross profit
/ gross loss, none without a loss), max drawdown (largest fall of the cumulative P&L from
its running peak, starting from 0), average duration and expectancy (P&L per trade).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import groupby
from operator import itemgetter

from sqlalchemy import BigInteger, and_, case, type_coerce
from sqlmodel import Session, col, func, select

from botdesk.db import listing, trade_summaries
from botdesk.db.models import Bot, Command, Fill, Order, Position, PositionStatus, Signal
from botdesk.db.types import MONEY_PLACES, from_units, quantize

ZERO = Decimal(0)
UNIT = 10**MONEY_PLACES
BUY = "buy"
COMMAND_ORDER = re.compile(r"^bd-\d+-c(\d+)")  # botdesk.engine.orders.command_order_id


def _product(quantity, price):
    """(whole, rest) of quantity x price in units of 1e-8: the exact product is whole +
    rest / 1e8, 0 <= rest < 1e8.

    Both columns are integer units; their product would overflow 64 bits, so each is split
    into whole units and the fraction (q = qh.E + ql, p = ph.E + pl, E = 1e8): q.p/E =
    qh.ph.E + qh.pl + ql.ph + ql.pl/E, and only the last term has a fraction. Every part
    fits a BIGINT for any amount the ledger can hold."""
    q, p = type_coerce(quantity, BigInteger), type_coerce(price, BigInteger)
    q_whole, q_part = q // UNIT, q % UNIT
    p_whole, p_part = p // UNIT, p % UNIT
    small = q_part * p_part
    whole = q_whole * p_whole * UNIT + q_whole * p_part + q_part * p_whole + small // UNIT
    return whole, small % UNIT


def notional_units(quantity, price):
    """`quantize(quantity x price)` (half-even) in integer units, as a SQL expression: the
    notional the ledger books, exact on SQLite and PostgreSQL."""
    whole, rest = _product(quantity, price)
    half = UNIT // 2
    up = case((rest > half, 1), (and_(rest == half, whole % 2 == 1), 1), else_=0)
    return whole + up


def _exact(whole: int, rest: int) -> Decimal:
    """A sum of exact products from its parts' sums."""
    return from_units(whole) + from_units(rest) / UNIT


@dataclass(frozen=True)
class Exit:
    """One sell order of a trade: its fills summed."""

    order_id: int
    at: datetime  # its last fill
    quantity: Decimal
    price: Decimal  # average: the fills' quantity x price summed / quantity
    fees: Decimal
    pnl: Decimal
    reason: str  # the order's purpose
    note: str | None  # the operator's reason, for a command's order


@dataclass(frozen=True)
class Trade:
    position_id: int
    bot_id: int
    bot_name: str
    symbol: str
    status: str  # open | closed
    entry_at: datetime
    exit_at: datetime | None  # closed trades
    quantity: Decimal  # bought
    entry_price: Decimal
    exited_quantity: Decimal
    exit_price: Decimal | None
    pnl: Decimal  # realized, net of all fees
    pnl_ratio: Decimal  # P&L / cost of the buys
    fees: Decimal
    cost: Decimal  # of the buys, as booked (each fill's notional to 8 places)
    proceeds: Decimal  # of the sells, as booked
    entry_signal_id: int | None
    entry_signal: str | None
    confidence: float | None
    exit_reason: str | None
    exit_note: str | None
    exits: list[Exit] = field(default_factory=list)

    @property
    def duration(self) -> timedelta | None:
        return self.exit_at - self.entry_at if self.exit_at is not None else None


@dataclass(frozen=True)
class TradeFilter:
    """The trades wanted: one bot, one symbol, open or closed, entered since..until
    (until excluded)."""

    bot_id: int | None = None
    symbol: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None

    def conditions(self) -> list:
        found = []
        if self.status is not None:
            found.append(col(Position.status) == self.status)
        if self.bot_id is not None:
            found.append(col(Position.bot_id) == self.bot_id)
        if self.symbol is not None:
            found.append(col(Position.symbol) == self.symbol)
        if self.since is not None:
            found.append(col(Position.opened_at) >= self.since)
        if self.until is not None:
            found.append(col(Position.opened_at) < self.until)
        return found


def ratio(amount: Decimal, of: Decimal) -> Decimal:
    return quantize(amount / of) if of else ZERO


def _sum(expression):
    return func.coalesce(func.sum(expression), 0)


def _money(expression):
    return type_coerce(expression, BigInteger)


def _totals(session: Session, position_ids: list[int]) -> dict[int, tuple]:
    """Per position (units): quantity bought, cost, quantity sold, proceeds, fees, P&L,
    first buy order, and the exact products' parts of the buys and of the sells."""
    buy = col(Fill.side) == BUY
    notional = notional_units(Fill.quantity, Fill.price)
    whole, rest = _product(Fill.quantity, Fill.price)
    quantity = type_coerce(Fill.quantity, BigInteger)
    rows = session.exec(
        select(
            Fill.position_id,
            _sum(case((buy, quantity), else_=0)),
            _sum(case((buy, notional), else_=0)),
            _sum(case((buy, 0), else_=quantity)),
            _sum(case((buy, 0), else_=notional)),
            _sum(_money(Fill.fee_quote)),
            _sum(_money(Fill.realized_pnl)),
            func.min(case((buy, Fill.order_id), else_=None)),
            _sum(case((buy, whole), else_=0)),
            _sum(case((buy, rest), else_=0)),
            _sum(case((buy, 0), else_=whole)),
            _sum(case((buy, 0), else_=rest)),
        )
        .where(col(Fill.position_id).in_(position_ids))
        .group_by(col(Fill.position_id))
    ).all()
    return {row[0]: row[1:] for row in rows}


def _exits(session: Session, position_ids: list[int]) -> dict[int, list[Exit]]:
    whole, rest = _product(Fill.quantity, Fill.price)
    rows = session.exec(
        select(
            Fill.position_id,
            Fill.order_id,
            func.max(Fill.filled_at),
            _sum(_money(Fill.quantity)),
            _sum(whole),
            _sum(_money(Fill.fee_quote)),
            _sum(_money(Fill.realized_pnl)),
            Order.purpose,
            Order.client_order_id,
            _sum(rest),
        )
        .join(Order, col(Order.id) == col(Fill.order_id))
        .where(col(Fill.position_id).in_(position_ids), col(Fill.side) != BUY)
        .group_by(
            col(Fill.position_id),
            col(Fill.order_id),
            col(Order.purpose),
            col(Order.client_order_id),
        )
        .order_by(col(Fill.order_id))
    ).all()
    notes = _command_reasons(session, [row[8] for row in rows])
    found: dict[int, list[Exit]] = {}
    for position_id, order_id, at, sold, whole_sum, fees, pnl, purpose, client_id, rest_sum in rows:
        quantity = from_units(sold)
        found.setdefault(position_id, []).append(
            Exit(
                order_id=order_id,
                at=at,
                quantity=quantity,
                price=ratio(_exact(whole_sum, rest_sum), quantity),
                fees=from_units(fees),
                pnl=from_units(pnl),
                reason=purpose,
                note=notes.get(client_id),
            )
        )
    for exits in found.values():
        exits.sort(key=lambda exit_: (exit_.at, exit_.order_id))
    return found


def _command_reasons(session: Session, client_order_ids: list[str]) -> dict[str, str]:
    """The operator's reason of each order a command sent (a close, a flatten)."""
    by_command = {}
    for client_id in client_order_ids:
        match = COMMAND_ORDER.match(client_id or "")
        if match:
            by_command[client_id] = int(match.group(1))
    if not by_command:
        return {}
    reasons = dict(
        session.exec(
            select(Command.id, Command.reason).where(col(Command.id).in_(set(by_command.values())))
        ).all()
    )
    return {
        client_id: reasons[number]
        for client_id, number in by_command.items()
        if reasons.get(number)
    }


def _signals(session: Session, order_ids: list[int]) -> dict[int, Signal]:
    """The signal of each order, by order id."""
    rows = session.exec(
        select(Order.id, Signal)
        .join(Signal, col(Signal.id) == col(Order.signal_id))
        .where(col(Order.id).in_(order_ids))
    ).all()
    return dict(rows)


def trades_of(*, session: Session, positions: list[Position]) -> list[Trade]:
    """The trades of these positions, in their order."""
    ids = [position.id for position in positions]
    totals = _totals(session, ids)
    exits = _exits(session, ids)
    first_orders = [row[6] for row in totals.values() if row[6] is not None]
    signals = _signals(session, first_orders)
    names = dict(
        session.exec(
            select(Bot.id, Bot.name).where(col(Bot.id).in_({p.bot_id for p in positions}))
        ).all()
    )
    found = []
    for position in positions:
        bought, cost, sold, proceeds, fees, pnl, first_order, *parts = totals.get(
            position.id, (0, 0, 0, 0, 0, 0, None, 0, 0, 0, 0)
        )
        closed = position.status == PositionStatus.CLOSED
        signal = signals.get(first_order)
        mine = exits.get(position.id, [])
        last = mine[-1] if closed and mine else None
        found.append(
            Trade(
                position_id=position.id,
                bot_id=position.bot_id,
                bot_name=names.get(position.bot_id, f"#{position.bot_id}"),
                symbol=position.symbol,
                status=position.status,
                entry_at=position.opened_at,
                exit_at=position.closed_at if closed else None,
                quantity=from_units(bought),
                entry_price=ratio(_exact(parts[0], parts[1]), from_units(bought)),
                exited_quantity=from_units(sold),
                exit_price=ratio(_exact(parts[2], parts[3]), from_units(sold)) if sold else None,
                proceeds=from_units(proceeds),
                pnl=from_units(pnl),
                pnl_ratio=ratio(from_units(pnl), from_units(cost)),
                fees=from_units(fees),
                cost=from_units(cost),
                entry_signal_id=signal.id if signal else None,
                entry_signal=(signal.reason or signal.source) if signal else None,
                confidence=signal.confidence if signal else None,
                exit_reason=position.exit_reason if closed else None,
                exit_note=last.note if last else None,
                exits=mine,
            )
        )
    return found


@dataclass(frozen=True)
class TradePage:
    trades: list[Trade]
    next_before_id: int | None  # the position id to page on from; None: the last page


def trades(
    *,
    session: Session,
    chosen: TradeFilter | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> TradePage:
    """One page of trades, newest entry first, paged on the position id like every list."""
    found = listing.page(
        session=session,
        table=Position,
        conditions=(chosen or TradeFilter()).conditions(),
        limit=limit,
        before_id=before_id,
    )
    return TradePage(trades_of(session=session, positions=found.rows), found.next_before_id)


@dataclass(frozen=True)
class BotPerformance:
    bot_id: int
    bot_name: str
    trades: int
    wins: int
    win_rate: Decimal
    average_pnl_ratio: Decimal
    total_pnl_ratio: Decimal
    total_pnl: Decimal
    profit_factor: Decimal | None  # None: no losing trade
    max_drawdown: Decimal  # of the cumulative P&L, in quote
    average_duration: timedelta
    expectancy: Decimal  # P&L per trade


def _seconds(session: Session, later, earlier):
    """later - earlier in seconds, as SQL (each database has its own date arithmetic)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def performance(*, session: Session, chosen: TradeFilter | None = None) -> list[BotPerformance]:
    """Each bot's figures over its closed trades (those `chosen`), by bot name. Every closed
    trade, of every bot or one: the bots' summaries the ledger keeps (one row per bot,
    botdesk.db.trade_summaries). Trades chosen by symbol or entry day: folded from the
    positions the same way (each keeps its P&L and what its buys cost, `entry_cost`)."""
    chosen = chosen or TradeFilter()
    if chosen.status == PositionStatus.OPEN:
        return []  # the figures count closed trades only
    if chosen.symbol is None and chosen.since is None and chosen.until is None:
        found = trade_summaries.summaries(session=session, bot_id=chosen.bot_id)
    else:
        found = _folded(session, chosen)
    names = dict(session.exec(select(Bot.id, Bot.name).where(col(Bot.id).in_(found))).all())
    figures = [
        _figures(bot_id, names.get(bot_id, f"#{bot_id}"), running)
        for bot_id, running in found.items()
    ]
    return sorted(figures, key=lambda figure: (figure.bot_name, figure.bot_id))


def _folded(session: Session, chosen: TradeFilter) -> dict[int, trade_summaries.Running]:
    """The chosen closed trades of each bot folded in the order they closed, read from
    the index of their positions, and each bot's time in trades summed in SQL."""
    closed = [col(Position.status) == PositionStatus.CLOSED, *chosen.conditions()]
    rows = (
        session.connection()
        .execute(  # plain rows (no ORM), read from the index alone
            select(Position.bot_id, _money(Position.realized_pnl), _money(Position.entry_cost))
            .where(*closed)
            .order_by(col(Position.bot_id), col(Position.closed_at), col(Position.id))
        )
        .all()
    )
    held = session.connection().execute(
        select(Position.bot_id, func.sum(_seconds(session, Position.closed_at, Position.opened_at)))
        .where(*closed)
        .group_by(col(Position.bot_id))
    )
    found: dict[int, trade_summaries.Running] = {}
    for bot_id, trips in groupby(rows, key=itemgetter(0)):
        running = found[bot_id] = trade_summaries.Running()
        running.extend((pnl, cost, 0) for _, pnl, cost in trips)
    for bot_id, seconds in held:
        if bot_id in found:
            found[bot_id].held_us = round(float(seconds or 0) * 1_000_000)
    return found


def _figures(bot_id: int, name: str, running: trade_summaries.Running) -> BotPerformance:
    count = running.trades
    return BotPerformance(
        bot_id=bot_id,
        bot_name=name,
        trades=count,
        wins=running.wins,
        win_rate=ratio(Decimal(running.wins), Decimal(count)),
        average_pnl_ratio=quantize(running.pnl_ratios / count),
        total_pnl_ratio=running.pnl_ratios,
        total_pnl=from_units(running.pnl),
        profit_factor=ratio(Decimal(running.gains), Decimal(running.losses))
        if running.losses
        else None,
        max_drawdown=from_units(running.max_drawdown),
        average_duration=timedelta(seconds=round(Fraction(running.held_us, 1_000_000 * count))),
        expectancy=quantize(from_units(running.pnl) / count),
    )


def newest_fill_id(*, session: Session) -> int:
    """Changes whenever a trade changes (every change is a fill): the page's refresh marker."""
    return session.exec(select(func.max(Fill.id))).one() or 0
