"""What the tests of exchange-held protection share: an entry with a stop-loss and a
take-profit through the real order path, the rows to read back, the ledger proved exact
from the fills, and what the fake exchange received."""

import time
from decimal import Decimal

from sqlmodel import col, select

from botdesk.db import candles as candle_store
from botdesk.db.models import Bot, Fill, Order, Position, Protection, Signal
from botdesk.engine.accounts import account, recompute
from botdesk.engine.brokers.base import MarketContext
from botdesk.engine.orders import OrderRefused, OrderRequest, signal_order_id, submit

TICK = Decimal("0.01")


def entry(db, broker, bot, *, stop=None, take_profit=None, quantity="0.002") -> int:
    """A buy acting on a signal that carries the stop-loss and take-profit, committed."""
    with db.writing() as session:
        row = session.get(Bot, bot.id)
        price = candle_store.last_price(session=session, symbol="BTCUSDT")
        signal = Signal(
            bot_id=bot.id,
            dedupe_key=f"manual:{time.time_ns()}",
            source="manual",
            symbol="BTCUSDT",
            timeframe="1m",
            side="buy",
            price=price,
            stop=stop,
            take_profit=take_profit,
        )
        session.add(signal)
        session.flush()
        request = OrderRequest(
            bot=row,
            side="buy",
            quantity=Decimal(quantity),
            purpose="entry",
            client_order_id=signal_order_id(bot.id, signal.id),
            reference_price=price,
            signal=signal,
        )
        market = MarketContext(symbol="BTCUSDT", at=time.time(), last_price=price)
        return submit(session, request, broker=broker, market=market).id


def sell(db, broker, bot, *, client_id: str, quantity=None, purpose="close") -> int | None:
    """An exit through the real order path (the whole position without `quantity`). A
    refusal is committed, as the engine's callers do (`OrderRefused` is not raised), and
    gives None."""
    with db.writing() as session:
        row = session.get(Bot, bot.id)
        position = open_position_of(session, bot)
        price = candle_store.last_price(session=session, symbol="BTCUSDT")
        request = OrderRequest(
            bot=row,
            side="sell",
            quantity=Decimal(quantity) if quantity is not None else position.quantity,
            purpose=purpose,
            client_order_id=client_id,
            reference_price=price,
            immediate=True,
        )
        market = MarketContext(symbol="BTCUSDT", at=time.time(), last_price=price)
        try:
            return submit(session, request, broker=broker, market=market).id
        except OrderRefused:
            return None


def open_position_of(session, bot) -> Position | None:
    return session.exec(
        select(Position).where(Position.bot_id == bot.id, Position.status == "open")
    ).first()


def positions(db, bot) -> list[Position]:
    with db.reading() as session:
        return list(
            session.exec(
                select(Position).where(Position.bot_id == bot.id).order_by(col(Position.id))
            ).all()
        )


def protections_of(db) -> list[Protection]:
    with db.reading() as session:
        return list(session.exec(select(Protection).order_by(col(Protection.id))).all())


def legs_of(db, protection_id: int) -> dict[str, Order]:
    """The protection's leg orders by purpose."""
    with db.reading() as session:
        rows = session.exec(select(Order).where(Order.protection_id == protection_id)).all()
    return {order.purpose: order for order in rows}


def fills_of(db, order_id: int) -> list[Fill]:
    with db.reading() as session:
        return list(session.exec(select(Fill).where(Fill.order_id == order_id)).all())


def assert_ledger_exact(db, bot) -> None:
    """The bot's cash, realized P&L, fees and positions, rebuilt from its fills, are the
    stored ones exactly."""
    with db.reading() as session:
        row = session.get(Bot, bot.id)
        books = recompute(session=session, bot=row)
        stored = session.exec(select(Position).where(Position.bot_id == bot.id)).all()
        assert books.cash == account(session=session, bot=row).cash
    assert books.realized_pnl == sum((p.realized_pnl for p in stored), Decimal(0))
    assert books.fees == sum((p.fees for p in stored), Decimal(0))
    held = sum((p.quantity for p in stored if p.status == "open"), Decimal(0))
    assert held == sum((book.quantity for _, book in books.positions), Decimal(0))


def sells_sent(fake) -> list:
    """Every sell the fake exchange was asked to place by a single order (not an OCO)."""
    return [
        r
        for r in fake.requests
        if r.method == "POST" and r.path == "/api/v3/order" and r.params.get("side") == "SELL"
    ]


def requests_to(fake, method: str, path: str) -> list:
    return [r for r in fake.requests if r.method == method and r.path == path]
