"""Each bot's closed trades summed up (`trade_summary`), kept by the ledger in the
transaction of the fill that closes a position, so the every-bot performance table reads
one row per bot instead of every closed position.

A trade counts when its position closes, with what the position holds then: its realized
P&L (net of every fee, partial exits included) and its entry cost (what all its buys
cost), as `botdesk.db.trades` defines them. The running P&L's peak and deepest fall follow
the trades in the order they closed (closed_at, then position id): a trade that closes
before the bot's last counted one in that order (a fill the exchange reported late) makes
`book_closed` rebuild the bot's row from its positions instead of adding it at the end.
`rebuild` also fills the table in for positions closed before it existed (migration
tradeleft_1).
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from sqlalchemy import BigInteger, delete, insert, type_coerce, update
from sqlmodel import Session, col, select

from botdesk.db.models import Position, PositionStatus, TradeSummary
from botdesk.db.types import MONEY_UNIT, from_units, to_units

ZERO = Decimal(0)
MICROSECOND = timedelta(microseconds=1)


@dataclass(slots=True)
class Running:
    """A bot's closed trades folded one by one in the order they closed: the fields of its
    `trade_summary` row, amounts in integer units of 1e-8 (integer sums are what keeps a
    fold over 100k trades in tens of milliseconds), the ratios' sum a Decimal."""

    trades: int = 0
    wins: int = 0
    pnl: int = 0
    gains: int = 0
    losses: int = 0
    pnl_ratios: Decimal = ZERO
    peak: int = 0
    max_drawdown: int = 0
    held_us: int = 0
    last_closed_at: datetime | None = None
    last_position_id: int | None = None

    def extend(self, trades: Iterable[tuple[int, int, int]]) -> None:
        """More closed trades, in the order they closed: (P&L and entry cost in units, time
        held in microseconds) each."""
        count, wins, pnl, gains, losses = self.trades, self.wins, self.pnl, self.gains, self.losses
        ratios, peak, deepest, held = self.pnl_ratios, self.peak, self.max_drawdown, self.held_us
        for trade_pnl, cost, trade_held in trades:  # locals only: 100k trades in tens of ms
            count += 1
            if cost:  # botdesk.db.trades.ratio: P&L / cost, half-even to 8 places
                ratios += (Decimal(trade_pnl) / Decimal(cost)).quantize(MONEY_UNIT)
            pnl += trade_pnl
            held += trade_held
            if trade_pnl > 0:
                wins += 1
                gains += trade_pnl
                if pnl > peak:
                    peak = pnl
            else:  # only a trade that made nothing or lost deepens the fall
                losses -= trade_pnl
                if peak - pnl > deepest:
                    deepest = peak - pnl
        self.trades, self.wins, self.pnl, self.gains, self.losses = count, wins, pnl, gains, losses
        self.pnl_ratios, self.peak, self.max_drawdown, self.held_us = ratios, peak, deepest, held

    def add(
        self, *, pnl: int, cost: int, held_us: int, closed_at: datetime, position_id: int
    ) -> None:
        """One more closed trade, the last in closing order so far."""
        self.extend([(pnl, cost, held_us)])
        self.last_closed_at, self.last_position_id = closed_at, position_id

    def comes_after(self, closed_at: datetime, position_id: int) -> bool:
        """Whether a trade closed at `closed_at` is the next in closing order."""
        if self.last_closed_at is None:
            return True
        return (closed_at, position_id) > (self.last_closed_at, self.last_position_id)

    def values(self) -> dict:
        """The row's values (amounts as Decimals)."""
        found = {name: getattr(self, name) for name in NAMES}
        for name in UNITS:
            found[name] = from_units(found[name])
        return found


NAMES = [name.name for name in fields(Running)]
UNITS = ("pnl", "gains", "losses", "peak", "max_drawdown")


def _column(name: str):
    """The column as stored: amounts read as their integer units."""
    column = getattr(TradeSummary, name)
    return type_coerce(column, BigInteger) if name in UNITS else column


COLUMNS = [_column(name) for name in NAMES]


def held_us(opened_at: datetime, closed_at: datetime) -> int:
    return (closed_at - opened_at) // MICROSECOND


def fold(rows: Iterable[tuple]) -> dict[int, Running]:
    """Each bot's summary from its closed positions' (bot id, P&L and entry cost in units,
    opened at, closed at, position id), given by bot in closing order."""
    found: dict[int, Running] = {}
    for bot_id, group in groupby(rows, key=itemgetter(0)):
        trips = list(group)
        running = found[bot_id] = Running()
        running.extend(
            (pnl, cost, held_us(opened, closed)) for _, pnl, cost, opened, closed, _ in trips
        )
        running.last_closed_at, running.last_position_id = trips[-1][4], trips[-1][5]
    return found


def book_closed(*, session: Session, position: Position) -> None:
    """Count the trade of `position`, just closed by a fill in this transaction."""
    row = session.execute(
        select(*COLUMNS).where(TradeSummary.bot_id == position.bot_id).with_for_update()
    ).first()
    running = Running(*row) if row is not None else Running()
    if not running.comes_after(position.closed_at, position.id):
        rebuild(session=session, bot_id=position.bot_id)
        return
    running.add(
        pnl=to_units(position.realized_pnl),
        cost=to_units(position.entry_cost),
        held_us=held_us(position.opened_at, position.closed_at),
        closed_at=position.closed_at,
        position_id=position.id,
    )
    if row is None:
        session.execute(insert(TradeSummary).values(bot_id=position.bot_id, **running.values()))
    else:
        session.execute(
            update(TradeSummary)
            .where(col(TradeSummary.bot_id) == position.bot_id)
            .values(**running.values())
        )


def rebuild(*, session: Session, bot_id: int | None = None) -> None:
    """Every bot's summary (or one bot's) again from its closed positions."""
    session.flush()  # the position a fill just closed counts
    closed = [col(Position.status) == PositionStatus.CLOSED]
    stale = delete(TradeSummary)
    if bot_id is not None:
        closed.append(col(Position.bot_id) == bot_id)
        stale = stale.where(col(TradeSummary.bot_id) == bot_id)
    rows = session.execute(
        select(
            Position.bot_id,
            type_coerce(Position.realized_pnl, BigInteger),
            type_coerce(Position.entry_cost, BigInteger),
            Position.opened_at,
            Position.closed_at,
            Position.id,
        )
        .where(*closed)
        .order_by(col(Position.bot_id), col(Position.closed_at), col(Position.id))
    )
    found = fold(rows)
    session.execute(stale)
    if found:
        session.execute(
            insert(TradeSummary),
            [{"bot_id": bot, **running.values()} for bot, running in found.items()],
        )


def summaries(*, session: Session, bot_id: int | None = None) -> dict[int, Running]:
    """Each bot's summary (or one bot's), by bot id."""
    query = select(TradeSummary.bot_id, *COLUMNS)
    if bot_id is not None:
        query = query.where(col(TradeSummary.bot_id) == bot_id)
    return {row[0]: Running(*row[1:]) for row in session.execute(query)}
