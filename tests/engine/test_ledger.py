"""The ledger's arithmetic, exact to the last of 8 decimals, and fills booked once."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db.models import Fill, Order, Position
from botdesk.engine import accounts
from botdesk.engine.ledger import Book, BrokerFill, LedgerError, cash_change, record_fill
from tests.factories import make_bot

D = Decimal
AT = datetime(2024, 10, 28, tzinfo=UTC)


def test_cost_basis_moves_out_in_proportion_and_all_of_it_at_the_last_sell():
    book = Book()
    assert book.apply(side="buy", quantity=D("0.3"), price=D("68021.69"), fee=D("0.02040651")) == (
        D("-0.02040651")
    )
    book.apply(side="buy", quantity=D("0.00000007"), price=D("68100.01"), fee=D("0"))
    # cost: 20406.507 + 0.0047670007 -> 0.00476700 after rounding the notional to 8 places
    assert book.cost_basis == D("20406.507") + D("0.00476700")
    # sell a third: removes quantize(C x q / Q) of the cost
    third = D("0.10000002")
    removed = (book.cost_basis * third / book.quantity).quantize(D("1E-8"))
    realized = book.apply(side="sell", quantity=third, price=D("69000"), fee=D("0.069"))
    assert realized == (third * D("69000")).quantize(D("1E-8")) - removed - D("0.069")
    remaining = book.cost_basis
    last = book.apply(side="sell", quantity=book.quantity, price=D("67000"), fee=D("0"))
    assert last == (D("0.20000005") * D("67000")).quantize(D("1E-8")) - remaining
    assert book.quantity == 0 and book.cost_basis == 0
    assert book.entry_cost == D("20406.507") + D("0.00476700")  # what the buys paid, kept
    assert book.fees == D("0.08940651")
    with pytest.raises(LedgerError, match="exceeds the long position"):
        book.apply(side="sell", quantity=D("0.00000001"), price=D("1"), fee=D("0"))


def test_cash_changes_by_the_notional_and_the_fee():
    assert cash_change("buy", D("2"), D("1.5"), D("0.003")) == D("-3.003")
    assert cash_change("sell", D("2"), D("1.5"), D("0.003")) == D("2.997")


def _order(db, bot_id: int, side: str, quantity: str, cid: str) -> Order:
    with db.writing() as session:
        order = Order(
            bot_id=bot_id,
            client_order_id=cid,
            symbol="BTCUSDT",
            side=side,
            quantity=D(quantity),
            purpose="entry" if side == "buy" else "exit",
        )
        session.add(order)
    return order


def _fill(order: Order, trade_id: str, quantity: str, price: str, fee: str) -> BrokerFill:
    return BrokerFill(order.id, trade_id, D(quantity), D(price), D(fee), "USDT", D(fee), AT)


def test_fills_build_positions_and_a_fill_reported_twice_is_booked_once(db):
    bot = make_bot(db, capital=D("1000"))
    buy = _order(db, bot.id, "buy", "0.01", "b1")
    sell = _order(db, bot.id, "sell", "0.01", "s1")
    with db.writing() as session:
        order = session.get(Order, buy.id)
        record_fill(session=session, order=order, fill=_fill(buy, "t1", "0.004", "68000", "0.272"))
        record_fill(
            session=session, order=order, fill=_fill(buy, "t2", "0.006", "68010", "0.40806")
        )
        record_fill(
            session=session, order=order, fill=_fill(buy, "t2", "0.006", "68010", "0.40806")
        )
        assert order.status == "filled"
        assert order.average_price == D("68006")
    with db.writing() as session:
        order = session.get(Order, sell.id)
        record_fill(session=session, order=order, fill=_fill(sell, "t3", "0.01", "69000", "0.69"))
    with db.reading() as session:
        fills = session.exec(select(Fill)).all()
        position = session.exec(select(Position)).one()
        state = accounts.account(session=session, bot=bot)
        problems = accounts.discrepancies(session=session, bot=bot)
    assert len(fills) == 3
    assert (position.status, position.exit_reason, position.closed_at) == ("closed", "exit", AT)
    # bought 272 + 408.06 = 680.06, sold 690: +9.94 gross, fees 1.37006
    assert position.realized_pnl == D("9.94") - D("1.37006")
    assert state.cash == D("1000") + D("9.94") - D("1.37006")
    assert state.fees == D("1.37006")
    assert problems == []


def test_selling_without_a_position_is_a_ledger_error(db):
    bot = make_bot(db)
    sell = _order(db, bot.id, "sell", "1", "s")
    with pytest.raises(LedgerError, match="sells with no open position"), db.writing() as session:
        record_fill(
            session=session, order=session.get(Order, sell.id), fill=_fill(sell, "t", "1", "1", "0")
        )
