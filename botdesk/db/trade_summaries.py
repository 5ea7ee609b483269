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

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from botdesk.db.models import Position, PositionStatus, TradeSummary
from botdesk.db.types import quantize

ZERO = Decimal(0)
MICROSECOND = timedelta(microseconds=1)


@dataclass(slots=True)
class Running:
    """A bot's closed trades folded one by one in the order they closed: the fields of its
    `trade_summary` row."""

    trades: int = 0
    wins: int = 0
    pnl: Decimal = ZERO
    gains: Decimal = ZERO
    losses: Decimal = ZERO
    pnl_ratios: Decimal = ZERO
    peak: Decimal = ZERO
    max_drawdown: Decimal = ZERO
    held_us: int = 0
    last_closed_at: datetime | None = None
    last_position_id: int | None = None

    def add(
        self,
        *,
        pnl: Decimal,
        cost: Decimal,
        held_us: int = 0,
        closed_at: datetime | None = None,
        position_id: int | None = None,
    ) -> None:
        """One more closed trade: its P&L, entry cost and time held (microseconds)."""
        self.trades += 1
        if cost:  # botdesk.db.trades.ratio: P&L / cost, half-even to 8 places
            self.pnl_ratios += quantize(pnl / cost)
        self.pnl += pnl
        if pnl > 0:
            self.wins += 1
            self.gains += pnl
            self.peak = max(self.peak, self.pnl)
        else:
            self.losses -= pnl
            self.max_drawdown = max(self.max_drawdown, self.peak - self.pnl)
        self.held_us += held_us
        self.last_closed_at, self.last_position_id = closed_at, position_id

    def comes_after(self, closed_at: datetime, position_id: int) -> bool:
        """Whether a trade closed at `closed_at` is the next in closing order."""
        if self.last_closed_at is None:
            return True
        return (closed_at, position_id) > (self.last_closed_at, self.last_position_id)

    def values(self) -> dict:
        return {name.name: getattr(self, name.name) for name in fields(self)}


COLUMNS = [getattr(TradeSummary, name.name) for name in fields(Running)]


def held_us(opened_at: datetime, closed_at: datetime) -> int:
    return (closed_at - opened_at) // MICROSECOND


def fold(rows: Iterable[tuple]) -> dict[int, Running]:
    """Each bot's summary from its closed positions' (bot id, P&L, entry cost, opened at,
    closed at, position id), given in closing order."""
    found: dict[int, Running] = {}
    for bot_id, pnl, cost, opened_at, closed_at, position_id in rows:
        running = found.get(bot_id)
        if running is None:
            running = found[bot_id] = Running()
        running.add(
            pnl=pnl,
            cost=cost,
            held_us=held_us(opened_at, closed_at),
            closed_at=closed_at,
            position_id=position_id,
        )
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
        pnl=position.realized_pnl,
        cost=position.entry_cost,
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
            Position.realized_pnl,
            Position.entry_cost,
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
