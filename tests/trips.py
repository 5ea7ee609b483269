"""Round trips booked through the real ledger, with hand-computed figures, for the tests
of trades and performance (db, API, pages, browser).

alpha (BTCUSDT):
1. buy 0.5 @ 60000 (fee 30) on a signal (confidence 0.8, "ema 9 crossed above 21");
   partial exit: sell 0.2 @ 61000.12345678 (fee 12.20002469), the strategy's exit;
   final exit: sell 0.3 @ 59000 (fee 17.7), an operator's close ("news: exchange halt").
   P&L = -30 + (12200.02469136 - 12000 - 12.20002469) + (17700 - 18000 - 17.7)
       = -159.87533333; cost 30000; ratio -0.00532918; fees 59.90002469.
2. buy 0.1 @ 62000.5 (fee 6.20005); sell 0.1 @ 63000 (fee 6.3) at its take-profit.
   P&L = 6300 - 6200.05 - 6.20005 - 6.3 = 87.44995; ratio 87.44995 / 6200.05 = 0.01410472.
3. buy 0.2 @ 60000 (fee 12), still open: P&L -12.
beta (ETHUSDT): buy 1.5 @ 3000.5 (fee 4.50075); sell 1.5 @ 3100 (fee 4.65):
      P&L = 4650 - 4500.75 - 4.50075 - 4.65 = 140.09925; ratio 140.09925 / 4500.75 = 0.03112798.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from botdesk.db.models import Bot, Command, Order, Signal
from botdesk.db.session import Database
from botdesk.engine.ledger import BrokerFill, record_fill
from tests.factories import make_bot

D = Decimal
_ids = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def trade(
    db: Database,
    bot: Bot,
    side: str,
    quantity: str,
    price: str,
    fee: str,
    when: datetime,
    *,
    purpose: str = "entry",
    signal: Signal | None = None,
    client_order_id: str | None = None,
    parts: int = 1,
) -> Order:
    """An order filled in `parts` equal fills, booked through the ledger."""
    with db.writing() as session:
        order = Order(
            bot_id=bot.id,
            client_order_id=client_order_id or f"trip-{next(_ids)}",
            symbol=bot.symbol,
            side=side,
            quantity=D(quantity),
            purpose=purpose,
            signal_id=signal.id if signal is not None else None,
            created_at=when,
        )
        session.add(order)
        session.flush()
        for part in range(parts):
            record_fill(
                session=session,
                order=order,
                fill=BrokerFill(
                    order_id=order.id,
                    trade_id=str(part + 1),
                    quantity=D(quantity) / parts,
                    price=D(price),
                    fee=D(fee) / parts,
                    fee_asset="USDT",
                    fee_quote=D(fee) / parts,
                    filled_at=when,
                ),
            )
    return order


@dataclass
class Trips:
    alpha: Bot
    beta: Bot
    command: Command


ALPHA_1_PNL = D("-159.87533333")
ALPHA_2_PNL = D("87.44995")
BETA_PNL = D("140.09925")


def book_trips(db: Database, prefix: str = "") -> Trips:
    alpha = make_bot(db, name=f"{prefix}alpha", symbol="BTCUSDT")
    beta = make_bot(db, name=f"{prefix}beta", symbol="ETHUSDT")
    with db.writing() as session:
        signal = Signal(
            bot_id=alpha.id,
            dedupe_key="c:1",
            symbol="BTCUSDT",
            timeframe="1h",
            side="buy",
            confidence=0.8,
            reason="ema 9 crossed above 21",
        )
        command = Command(
            kind="position.close",
            target="position:1",
            issued_by="tess",
            reason="news: exchange halt",
        )
        session.add(signal)
        session.add(command)
    trade(db, alpha, "buy", "0.5", "60000", "30", at("2024-04-01T10:00:00"), signal=signal)
    trade(
        db, alpha, "sell", "0.2", "61000.12345678", "12.20002469", at("2024-04-01T12:00:00"),
        purpose="exit",
    )  # fmt: skip
    trade(
        db, alpha, "sell", "0.3", "59000", "17.7", at("2024-04-01T13:30:00"),
        purpose="close", client_order_id=f"bd-{alpha.id}-c{command.id}", parts=3,
    )  # fmt: skip
    trade(db, alpha, "buy", "0.1", "62000.5", "6.20005", at("2024-04-02T09:00:00"))
    trade(
        db, alpha, "sell", "0.1", "63000", "6.3", at("2024-04-02T09:45:00"), purpose="take_profit"
    )
    trade(db, beta, "buy", "1.5", "3000.5", "4.50075", at("2024-04-01T08:30:00"))
    trade(db, beta, "sell", "1.5", "3100", "4.65", at("2024-04-03T08:30:00"), purpose="exit")
    trade(db, alpha, "buy", "0.2", "60000", "12", at("2024-04-03T10:00:00"))
    return Trips(alpha, beta, command)
