"""Per-bot performance from the positions (each keeps what its buys cost, `entry_cost`, booked
by the ledger with each fill) against the fill-based reference it replaced
(tests/db/reference_trades.py) and the figures worked out by hand (tests/trips.py), to the
unit, on SQLite and PostgreSQL."""

import importlib.util
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text, update
from sqlmodel import col

from botdesk.db import trades
from botdesk.db.models import Fill, Position
from botdesk.db.trades import TradeFilter
from botdesk.db.types import quantize
from tests.db import reference_trades
from tests.factories import make_bot
from tests.trips import at, book_trips, trade

D = Decimal
MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "botdesk/db/migrations/versions/0017_tradesfast_entry_cost.py"
)


def random_trips(db, chooser: random.Random, bots: int = 3, trips: int = 5) -> None:
    """Round trips with several buys and partial sells at prices and quantities of 8
    decimals (notionals that round), some ending in a loss, one left open per bot."""
    day = at("2024-06-01T00:00:00")
    for number in range(bots):
        bot = make_bot(db, name=f"rand-{number}", symbol=("BTCUSDT", "ETHUSDT")[number % 2])
        when = day + timedelta(minutes=number)
        for trip in range(trips + 1):
            held = D(0)
            for _ in range(chooser.randint(1, 3)):
                quantity = D(chooser.randrange(1, 10**9)).scaleb(-8)
                price = D(chooser.randrange(10**11, 10**13)).scaleb(-8)
                fee = quantize(quantity * price * D("0.001"))
                when += timedelta(minutes=chooser.randint(1, 600))
                trade(db, bot, "buy", str(quantity), str(price), str(fee), when)
                held += quantity
            if trip == trips:
                break  # left open
            while held:
                part = min(held, D(chooser.randrange(1, 10**9)).scaleb(-8))
                price = D(chooser.randrange(10**11, 10**13)).scaleb(-8)
                fee = quantize(part * price * D("0.001"))
                when += timedelta(minutes=chooser.randint(1, 600))
                trade(db, bot, "sell", str(part), str(price), str(fee), when, purpose="exit")
                held -= part


def buys_cost(db) -> dict[int, Decimal]:
    """Each position's buys' notionals as booked, summed in Python from its fills."""
    found: dict[int, Decimal] = {}
    with db.reading() as session:
        for fill in session.execute(select(Fill)).scalars():
            found.setdefault(fill.position_id, D(0))
            if fill.side == "buy":
                found[fill.position_id] += quantize(fill.quantity * fill.price)
    return found


def entry_costs(db) -> dict[int, Decimal]:
    with db.reading() as session:
        return dict(session.execute(select(Position.id, Position.entry_cost)).all())


def test_the_ledger_keeps_what_each_positions_buys_cost(db):
    trips = book_trips(db)
    random_trips(db, random.Random(17))
    kept = entry_costs(db)
    alpha = sorted(position_id for position_id in kept if position_id >= trips.first_position_id)[
        :2
    ]
    assert [kept[alpha[0]], kept[alpha[1]]] == [D("30000"), D("6200.05")]  # tests/trips.py
    assert kept == buys_cost(db)


def test_performance_is_the_fill_based_reference_to_the_unit(db):
    trips = book_trips(db)
    random_trips(db, random.Random(18))
    choices = [
        None,
        TradeFilter(bot_id=trips.alpha.id),
        TradeFilter(symbol="ETHUSDT"),
        TradeFilter(since=at("2024-06-01T12:00:00")),
        TradeFilter(until=at("2024-06-02T00:00:00")),
        TradeFilter(status="open"),
    ]
    with db.reading() as session:
        for chosen in choices:
            fast = trades.performance(session=session, chosen=chosen)
            assert fast == reference_trades.performance(session=session, chosen=chosen), chosen
        everyone = trades.performance(session=session)
    assert [found.trades for found in everyone] == [2, 1, 5, 5, 5]  # alpha, beta, rand-0..2
    assert everyone[0].total_pnl_ratio == D("-0.00532918") + D("0.01410472")


def test_the_migration_fills_in_the_entry_costs_of_old_positions(db):
    """Positions booked before position.entry_cost existed get what the ledger would keep."""
    book_trips(db)
    random_trips(db, random.Random(19))
    spec = importlib.util.spec_from_file_location("tradesfast_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    kept = entry_costs(db)
    with db.writing() as session:
        session.execute(update(Position).values(entry_cost=D(0)))
    assert set(entry_costs(db).values()) == {D(0)}
    with db.writing() as session:
        session.execute(text(migration.BACKFILL))
    assert entry_costs(db) == kept and D(0) not in kept.values()
    with db.reading() as session:
        assert len(session.execute(select(col(Position.id))).all()) == len(kept) == 3 * 6 + 4
