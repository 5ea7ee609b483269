"""A bot's account: cash, equity, equity snapshots, and the proof that the books add up.

cash = capital + realized P&L of all its positions - cost basis of its open positions;
equity = cash + market value of its open positions. `recompute` rebuilds every number
from the `fill` table alone; `discrepancies` compares that with what is stored.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from botdesk.db.models import Bot, EquitySnapshot, Fill, Position, PositionStatus
from botdesk.db.types import quantize
from botdesk.engine.ledger import ZERO, Book, cash_change


@dataclass(frozen=True)
class Account:
    cash: Decimal
    realized_pnl: Decimal
    fees: Decimal
    exposure: Decimal  # market value of the open positions
    unrealized_pnl: Decimal

    @property
    def equity(self) -> Decimal:
        return self.cash + self.exposure


# built once (`ledger._OPEN_POSITION` says why)
_TOTALS = select(func.sum(Position.realized_pnl), func.sum(Position.fees)).where(
    Position.bot_id == bindparam("bot_id")
)
_OPEN_POSITIONS = select(Position).where(
    Position.bot_id == bindparam("bot_id"), Position.status == PositionStatus.OPEN
)


def account(*, session: Session, bot: Bot, open_positions: list[Position] | None = None) -> Account:
    """The bot's account now; pass its open positions if they are already at hand."""
    totals = session.exec(_TOTALS, params={"bot_id": bot.id}).one()
    realized, fees = (value if value is not None else ZERO for value in totals)
    if open_positions is None:
        open_positions = session.exec(_OPEN_POSITIONS, params={"bot_id": bot.id}).all()
    return account_from(bot=bot, realized=realized, fees=fees, open_positions=open_positions)


def account_from(
    *, bot: Bot, realized: Decimal, fees: Decimal, open_positions: list[Position]
) -> Account:
    """The account from its parts: realized P&L and fees of all the bot's positions, and
    its open positions (the batched candle path reads the parts once for many bots)."""
    cost = sum((p.cost_basis for p in open_positions), ZERO)
    exposure = sum(
        (quantize(p.quantity * (p.last_price or p.entry_price or ZERO)) for p in open_positions),
        ZERO,
    )
    return Account(
        cash=bot.capital + realized - cost,
        realized_pnl=realized,
        fees=fees,
        exposure=exposure,
        unrealized_pnl=exposure - cost,
    )


def snapshot(
    *,
    session: Session,
    bot: Bot,
    at: datetime,
    candle_open_ms: int | None,
    open_positions: list[Position] | None = None,
    state: Account | None = None,
) -> EquitySnapshot:
    """Record the bot's equity now (`state`: its account, when already at hand)."""
    if state is None:
        state = account(session=session, bot=bot, open_positions=open_positions)
    row = EquitySnapshot(
        **snapshot_values(bot=bot, at=at, candle_open_ms=candle_open_ms, state=state)
    )
    session.add(row)
    return row


def snapshot_values(*, bot: Bot, at: datetime, candle_open_ms: int | None, state: Account) -> dict:
    """An equity snapshot's columns (the batched path inserts many at once)."""
    return dict(
        bot_id=bot.id,
        at=at,
        candle_open_ms=candle_open_ms,
        equity=state.equity,
        cash=state.cash,
        realized_pnl=state.realized_pnl,
        unrealized_pnl=state.unrealized_pnl,
        fees=state.fees,
        exposure=state.exposure,
    )


def total_equity(*, session: Session) -> Decimal:
    """The sum of every bot's latest equity snapshot."""
    latest = (
        select(EquitySnapshot.bot_id, func.max(EquitySnapshot.id).label("id"))
        .where(col(EquitySnapshot.bot_id).is_not(None))
        .group_by(EquitySnapshot.bot_id)
        .subquery()
    )
    rows = session.exec(
        select(EquitySnapshot.equity).join(latest, col(EquitySnapshot.id) == latest.c.id)
    ).all()
    return sum(rows, ZERO)


@dataclass
class Recomputed:
    """The books of one bot rebuilt from its fills, oldest first."""

    cash: Decimal
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    positions: list[tuple[str, Book]] = field(default_factory=list)  # (symbol, book) in order
    fill_realized: dict[int, Decimal] = field(default_factory=dict)  # fill id -> realized P&L


def recompute(*, session: Session, bot: Bot) -> Recomputed:
    books: Recomputed = Recomputed(cash=bot.capital)
    current: dict[str, Book] = {}
    fills = session.exec(select(Fill).where(Fill.bot_id == bot.id).order_by(col(Fill.id))).all()
    for fill in fills:
        book = current.get(fill.symbol)
        if book is None:
            book = current[fill.symbol] = Book()
            books.positions.append((fill.symbol, book))
        realized = book.apply(
            side=fill.side, quantity=fill.quantity, price=fill.price, fee=fill.fee_quote
        )
        books.fill_realized[fill.id] = realized
        books.realized_pnl += realized
        books.fees += fill.fee_quote
        books.cash += cash_change(fill.side, fill.quantity, fill.price, fill.fee_quote)
        if book.quantity == 0:
            del current[fill.symbol]
    return books


def discrepancies(*, session: Session, bot: Bot) -> list[str]:
    """Every way the stored books differ from the fills (empty when they agree exactly)."""
    books = recompute(session=session, bot=bot)
    problems = []
    fills = session.exec(select(Fill).where(Fill.bot_id == bot.id)).all()
    for fill in fills:
        if fill.realized_pnl != books.fill_realized[fill.id]:
            problems.append(
                f"fill {fill.id}: realized {fill.realized_pnl} != {books.fill_realized[fill.id]}"
            )
    stored = session.exec(
        select(Position).where(Position.bot_id == bot.id).order_by(col(Position.id))
    ).all()
    if len(stored) != len(books.positions):
        problems.append(f"{len(stored)} positions stored, {len(books.positions)} from the fills")
    for position, (symbol, book) in zip(stored, books.positions, strict=False):
        expected = (
            symbol,
            book.quantity,
            book.cost_basis,
            book.realized_pnl,
            book.fees,
            book.entry_cost,
        )
        actual = (
            position.symbol,
            position.quantity,
            position.cost_basis,
            position.realized_pnl,
            position.fees,
            position.entry_cost,
        )
        if expected != actual:
            problems.append(f"position {position.id}: stored {actual}, from fills {expected}")
        if (position.status == PositionStatus.OPEN) != (book.quantity > 0):
            problems.append(f"position {position.id}: status {position.status}")
    state = account(session=session, bot=bot)
    for name in ("cash", "realized_pnl", "fees"):
        if getattr(state, name) != getattr(books, name):
            problems.append(f"{name}: ledger {getattr(state, name)}, fills {getattr(books, name)}")
    return problems
