"""A bot that acts in a candle batch (a signal becomes an order) is not read again for what
the batch read of it once for the candle: a paper bot with no resting order is not matched
by the broker (nothing to match), nor looked at by the circuit breaker (too few failed
orders), and its position is the one the batch read; a buy's risk check takes the
position and account its sizing read, and reads no pending sells (only a sell's check
looks at them). A bot with a resting order is still matched, and fills."""

import json
import re

from sqlalchemy import event
from sqlmodel import col, select

from botdesk.db import risk_limits
from botdesk.db.models import (
    Bot,
    BotState,
    EquitySnapshot,
    Fill,
    Notification,
    Order,
    OrderStatus,
    Signal,
    SignalStatus,
)
from botdesk.engine.accounts import account
from botdesk.engine.batch.candle import BatchItem, process_batch
from botdesk.engine.batch.memory import CandleMemory
from botdesk.engine.frames import BUY
from tests.engine.driving import runtime_for
from tests.engine.test_breaches import candle, signal
from tests.factories import make_bot

MINUTE = 600


class Statements:
    """The SQL a block of code sends, as text (PostgreSQL's parameters written as "?")."""

    def __init__(self, engine):
        self.engine, self.sent = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_):
        self.sent.append(re.sub(r"%\(\w+\)s(::\w+)?", "?", " ".join(statement.split())))

    def count(self, *parts: str) -> int:
        return sum(all(part in sql for part in parts) for sql in self.sent)


def run_candle(
    db, bots: list[Bot], minute: int, memory: CandleMemory, side: int | None = BUY
) -> Statements:
    """One batch of `bots` on a paper broker, each with a `side` signal (None: none); the
    statements it sent."""
    broker = runtime_for(db).brokers.get("paper")
    with db.writing() as session, Statements(db.engine) as seen:
        rows = [session.get(Bot, bot.id) for bot in bots]
        items = [
            BatchItem(bot=row, signal=None if side is None else signal(side), broker=broker)
            for row in rows
        ]
        process_batch(
            session, items=items, candle=candle(minute, 100, 101, 99, 100), timeframe="1m",
            memory=memory,
        )  # fmt: skip
    return seen


def test_buying_bots_are_not_read_again_for_what_the_batch_read(db):
    with db.writing() as session:
        risk_limits.seed_defaults(session=session)
    bots = [make_bot(db, name=f"b{n}", state=BotState.RUNNING) for n in range(4)]
    with db.writing() as session:  # running since the candle before
        for bot in bots:
            session.get(Bot, bot.id).last_candle_ms = candle(MINUTE - 1, 1, 1, 1, 1).open_time_ms
    memory = CandleMemory()  # the engine's, kept from candle to candle
    seen = run_candle(db, bots, MINUTE, memory)
    with db.reading() as session:
        orders = session.exec(select(Order).order_by(col(Order.bot_id))).all()
        assert [order.bot_id for order in orders] == [bot.id for bot in bots]
        assert all(order.status == OrderStatus.OPEN for order in orders)
        statuses = session.exec(select(Signal.status)).all()
        assert statuses == [SignalStatus.ACCEPTED] * 4
        _snapshots_match_the_books(session, bots)
    # the broker's resting orders (paper matches by broker) and the breaker's latest
    # orders: read by the batch for all its bots, not by each bot
    assert seen.count('FROM "order" WHERE "order".broker') == 0
    assert seen.count('FROM "order" WHERE "order".bot_id = ? ORDER BY "order".id DESC') == 0
    # the open orders a signal could wait on (`limit_orders.open_orders`)
    assert seen.count('"order".protection_id IS NULL') == 0
    # pending sells: a sell's check only
    assert seen.count('sum("order".quantity)') == 0
    # the bot's positions, realized P&L and fees: as the batch read them while no fill
    # moved them (a resting market buy fills on the next candle), for the sizing, the
    # risk check ("adds to a position?", its exposure and open positions), the snapshot
    # and the desk's figures after it
    assert seen.count("FROM position WHERE position.bot_id = ?") == 0, seen.sent
    assert seen.count("FROM position WHERE position.status = ? AND position.bot_id = ?") == 0
    # the desk's open positions: counted from the rows its exposure loads, not again
    assert seen.count("count(*)", "FROM position") == 0
    # the desk's exposure, open positions and P&L today: two statements for the batch,
    # its open positions read once for the three
    assert seen.count("FROM position WHERE position.status = ?") == 1, seen.sent
    assert seen.count("sum(bot.capital)", "max(capital_flow.id)", "sum(position.realized") == 1
    assert seen.count("max(capital_flow.id)") == 1
    # their signal events (created, executed) in one insert, their cursors in one update
    assert seen.count("INSERT INTO notification") == 1
    assert seen.count("UPDATE bot SET last_candle_ms") == 1
    with db.reading() as session:
        announced = session.exec(select(Notification).order_by(col(Notification.id))).all()
        assert [json.loads(row.payload)["status"] for row in announced] == ["new", "accepted"] * 4
        assert [json.loads(row.payload)["bot_id"] for row in announced[::2]] == [
            bot.id for bot in bots
        ]
        assert {session.get(Bot, bot.id).last_candle_ms for bot in bots} == {
            candle(MINUTE, 100, 101, 99, 100).open_time_ms
        }

    # on the next candle each bot has a resting market buy: the broker matches it
    seen = run_candle(db, bots, MINUTE + 1, memory)
    assert seen.count('FROM "order" WHERE "order".broker') == len(bots)
    # nothing reads the snapshots back in this batch: all of them in one insert
    assert seen.count("INSERT INTO equity_snapshot") == 1
    # the fills moved the books: read again (after the fills; the snapshot's account)
    assert seen.count("FROM position WHERE position.bot_id = ?") >= len(bots)
    with db.reading() as session:
        assert len(session.exec(select(Fill)).all()) == len(bots)
        assert {o.status for o in session.exec(select(Order))} == {OrderStatus.FILLED}
        _snapshots_match_the_books(session, bots)


def _snapshots_match_the_books(session, bots: list[Bot]) -> None:
    """Each bot's latest snapshot is its account as the database has it."""
    snapshots = session.exec(select(EquitySnapshot).order_by(col(EquitySnapshot.id))).all()
    for bot in bots:
        books = account(session=session, bot=session.get(Bot, bot.id))
        last = [row for row in snapshots if row.bot_id == bot.id][-1]
        assert (last.cash, last.exposure, last.fees) == (books.cash, books.exposure, books.fees)
