"""The ledger: fills become positions, realized P&L, fees and cash, exactly.

Each position keeps its cost basis in quote currency, never an average price with
endless decimals. A buy of q at p adds q to the quantity and quantize(q x p) to the cost.
A sell of q out of Q removes quantize(C x q / Q) of the cost C (all of C when q == Q).
A fill's realized P&L is quantize(q x p) - removed cost - fee for a sell, and - fee for a
buy (fees are in quote, `fill.fee_quote`). The entry cost adds up what every buy paid
(the cost basis without the sells' removals): a trade's P&L ratio is P&L / entry cost.
So realized P&L, fees, cash and positions add up exactly from the `fill` table:
`botdesk.engine.accounts.recompute` proves it.

`record_fill` is the one place a fill enters the books, whichever broker reported it; the
fill that closes a position also counts its trade in the bot's `trade_summary`.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from botdesk.db import trade_summaries
from botdesk.db.models import Fill, Order, OrderStatus, Position, PositionStatus, Side
from botdesk.db.types import MONEY_UNIT, quantize, utcnow
from botdesk.engine import announce

ZERO = Decimal(0)
BUY = Side.BUY.value


class LedgerError(RuntimeError):
    """A fill that cannot be booked (e.g. selling more than the long position holds)."""


@dataclass(slots=True)
class Book:
    """The running numbers of one position."""

    quantity: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    entry_cost: Decimal = ZERO  # quote paid for all the buys (the P&L ratio's base)

    def apply(self, *, side: str, quantity: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Book one fill; returns its realized P&L (net of its fee)."""
        if quantity <= 0:
            raise LedgerError(f"a fill of {quantity} is not a fill")
        notional = (quantity * price).quantize(MONEY_UNIT)
        if side == BUY:
            self.quantity += quantity
            self.cost_basis += notional
            self.entry_cost += notional
            realized = -fee
        else:
            if quantity > self.quantity:
                raise LedgerError(
                    f"sell of {quantity} exceeds the long position of {self.quantity}"
                )
            if quantity == self.quantity:
                removed = self.cost_basis
            else:
                removed = (self.cost_basis * quantity / self.quantity).quantize(MONEY_UNIT)
            self.quantity -= quantity
            self.cost_basis -= removed
            realized = notional - removed - fee
        self.realized_pnl += realized
        self.fees += fee
        return realized


def cash_change(side: str, quantity: Decimal, price: Decimal, fee: Decimal) -> Decimal:
    """What a fill does to the cash: a buy pays notional and fee, a sell receives
    notional less fee."""
    notional = (quantity * price).quantize(MONEY_UNIT)
    return -(notional + fee) if side == Side.BUY else notional - fee


@dataclass(frozen=True)
class BrokerFill:
    """A fill as a broker reports it, before it is booked."""

    order_id: int
    trade_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    fee_quote: Decimal
    filled_at: datetime


# Statements of every trade, built once with their values bound at each run: building
# one and finding its compiled form cost more than running it on SQLite.
_OPEN_POSITION = select(Position).where(
    Position.bot_id == bindparam("bot_id"),
    Position.symbol == bindparam("symbol"),
    Position.status == PositionStatus.OPEN,
)
_FILL_BOOKED = select(Fill).where(
    Fill.order_id == bindparam("order_id"), Fill.trade_id == bindparam("trade_id")
)


def open_position(*, session: Session, bot_id: int, symbol: str) -> Position | None:
    return session.exec(_OPEN_POSITION, params={"bot_id": bot_id, "symbol": symbol}).first()


def record_fill(*, session: Session, order: Order, fill: BrokerFill) -> Fill:
    """Book a broker's fill: the fill row, the order's progress, the position. Idempotent
    per (order, trade id): a fill reported twice is booked once."""
    existing = session.exec(
        _FILL_BOOKED, params={"order_id": order.id, "trade_id": fill.trade_id}
    ).first()
    if existing is not None:
        return existing
    position = open_position(session=session, bot_id=order.bot_id, symbol=order.symbol)
    if position is None:
        if order.side == Side.SELL:
            raise LedgerError(f"order {order.client_order_id} sells with no open position")
        position = Position(bot_id=order.bot_id, symbol=order.symbol, opened_at=fill.filled_at)
    book = Book(
        position.quantity,
        position.cost_basis,
        position.realized_pnl,
        position.fees,
        position.entry_cost,
    )
    realized = book.apply(
        side=order.side, quantity=fill.quantity, price=fill.price, fee=fill.fee_quote
    )
    position.quantity, position.cost_basis = book.quantity, book.cost_basis
    position.realized_pnl, position.fees = book.realized_pnl, book.fees
    position.entry_cost = book.entry_cost
    position.last_price = fill.price
    if book.quantity == 0:
        position.status = PositionStatus.CLOSED
        position.closed_at = fill.filled_at
        position.exit_reason = order.purpose
        position.unrealized_pnl = ZERO
    else:
        position.entry_price = quantize(book.cost_basis / book.quantity)
        position.unrealized_pnl = quantize(book.quantity * fill.price) - book.cost_basis
    session.add(position)
    if position.id is None:
        session.flush()  # the new position's id, which the fill names
    if position.status == PositionStatus.CLOSED:
        trade_summaries.book_closed(session=session, position=position)
    row = Fill(
        order_id=order.id,
        bot_id=order.bot_id,
        position_id=position.id,
        trade_id=fill.trade_id,
        symbol=order.symbol,
        side=order.side,
        quantity=fill.quantity,
        price=fill.price,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
        fee_quote=fill.fee_quote,
        realized_pnl=realized,
        filled_at=fill.filled_at,
    )
    session.add(row)
    _advance(order, fill)
    session.add(order)
    session.flush()
    announce.order_filled(session, order, row)
    return row


def _advance(order: Order, fill: BrokerFill) -> None:
    filled = order.filled_quantity + fill.quantity
    if filled > order.quantity:
        raise LedgerError(f"order {order.client_order_id} filled beyond its quantity")
    paid = (order.average_price or ZERO) * order.filled_quantity + fill.price * fill.quantity
    order.average_price = quantize(paid / filled)
    order.filled_quantity = filled
    order.status = OrderStatus.FILLED if filled == order.quantity else OrderStatus.PARTIALLY_FILLED
    order.updated_at = utcnow()


def mark_to_market(position: Position, price: Decimal) -> None:
    position.last_price = price
    position.unrealized_pnl = quantize(position.quantity * price) - position.cost_basis
    if position.highest_price is None or price > position.highest_price:
        position.highest_price = price


def positions_of(*, session: Session, bot_id: int) -> list[Position]:
    query = select(Position).where(Position.bot_id == bot_id).order_by(col(Position.id))
    return list(session.exec(query).all())
