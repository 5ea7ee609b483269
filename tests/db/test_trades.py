"""Trades and performance from fills booked by the real ledger, against figures worked out
by hand (tests/trips.py), on SQLite and PostgreSQL."""

import importlib.util
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import BigInteger, literal, select, text, update
from sqlmodel import col

from botdesk.db import trades
from botdesk.db.models import Fill, Position
from botdesk.db.trades import TradeFilter, notional_units
from botdesk.db.types import quantize, to_units
from tests.trips import ALPHA_1_PNL, ALPHA_2_PNL, BETA_PNL, at, book_trips

D = Decimal
MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "botdesk/db/migrations/versions/0013_trades_fill_position.py"
)


def test_one_row_per_round_trip_with_its_partial_exits(db):
    trips = book_trips(db)
    with db.reading() as session:
        page = trades.trades(session=session, chosen=TradeFilter(bot_id=trips.alpha.id))
    open_trade, second, first = page.trades  # newest entry first
    assert page.next_before_id is None
    assert (first.status, first.symbol, first.bot_name) == ("closed", "BTCUSDT", "alpha")
    assert first.entry_at == at("2024-04-01T10:00:00")
    assert first.exit_at == at("2024-04-01T13:30:00")
    assert first.duration == timedelta(hours=3, minutes=30)
    assert first.quantity == D("0.5") and first.exited_quantity == D("0.5")
    assert first.entry_price == D("60000") and first.cost == D("30000")
    # (0.2 x 61000.12345678 + 0.3 x 59000) / 0.5 = 59800.049382712, to 8 places
    assert first.exit_price == D("59800.04938271")
    assert first.proceeds == D("29900.02469136")  # as booked: 12200.02469136 + 17700
    assert first.pnl == ALPHA_1_PNL
    assert first.pnl_ratio == D("-0.00532918")  # -159.87533333 / 30000
    assert first.fees == D("59.90002469")
    assert (first.entry_signal, first.confidence) == ("ema 9 crossed above 21", 0.8)
    assert (first.exit_reason, first.exit_note) == ("close", "news: exchange halt")
    partial, final = first.exits
    assert (partial.quantity, partial.price, partial.fees, partial.reason) == (
        D("0.2"),
        D("61000.12345678"),
        D("12.20002469"),
        "exit",
    )
    assert partial.pnl == D("187.82466667") and partial.note is None
    assert (final.quantity, final.price, final.fees, final.pnl) == (
        D("0.3"),
        D("59000"),
        D("17.7"),
        D("-317.7"),
    )
    assert (final.reason, final.note) == ("close", "news: exchange halt")
    assert second.pnl == ALPHA_2_PNL and second.pnl_ratio == D("0.01410472")
    assert (second.exit_reason, second.entry_signal, second.confidence) == (
        "take_profit",
        None,
        None,
    )
    assert open_trade.status == "open" and open_trade.exit_at is None
    assert open_trade.pnl == D("-12") and open_trade.exits == []
    assert open_trade.duration is None and open_trade.exit_price is None


def test_trades_reconcile_with_the_positions(db):
    book_trips(db)
    with db.reading() as session:
        page = trades.trades(session=session)
        positions = {p.id: p for p in session.exec(select(Position)).scalars()}
    assert len(page.trades) == len(positions) == 4
    for trade in page.trades:
        position = positions[trade.position_id]
        assert trade.pnl == position.realized_pnl
        assert trade.fees == position.fees
    assert sum(t.pnl for t in page.trades) == ALPHA_1_PNL + ALPHA_2_PNL + BETA_PNL - 12


def test_filters_and_pages(db):
    trips = book_trips(db)
    with db.reading() as session:
        eth = trades.trades(session=session, chosen=TradeFilter(symbol="ETHUSDT"))
        window = trades.trades(
            session=session,
            chosen=TradeFilter(since=at("2024-04-01T09:00:00"), until=at("2024-04-03T10:00:00")),
        )
        first = trades.trades(session=session, limit=3)
        rest = trades.trades(session=session, limit=3, before_id=first.next_before_id)
    assert [t.bot_id for t in eth.trades] == [trips.beta.id]
    assert [t.pnl for t in window.trades] == [ALPHA_2_PNL, ALPHA_1_PNL]
    assert len(first.trades) == 3 and first.next_before_id is not None
    assert [t.pnl for t in rest.trades] == [ALPHA_1_PNL] and rest.next_before_id is None


def test_performance_per_bot_exact(db):
    trips = book_trips(db)
    with db.reading() as session:
        alpha, beta = trades.performance(session=session)
        only = trades.performance(session=session, chosen=TradeFilter(symbol="ETHUSDT"))
    assert (alpha.bot_id, alpha.trades, alpha.wins) == (trips.alpha.id, 2, 1)  # open one left out
    assert alpha.win_rate == D("0.5")
    assert alpha.total_pnl_ratio == D("-0.00532918") + D("0.01410472")
    assert alpha.average_pnl_ratio == D("0.00438777")  # 0.00877554 / 2, half-even
    assert alpha.total_pnl == D("-72.42538333")
    assert alpha.profit_factor == quantize(ALPHA_2_PNL / -ALPHA_1_PNL) == D("0.54698838")
    assert alpha.max_drawdown == D("159.87533333")  # the first trade's loss from 0
    assert alpha.average_duration == timedelta(hours=2, minutes=7, seconds=30)  # 3h30, 45m
    assert alpha.expectancy == D("-36.21269166")  # -72.42538333 / 2, half-even
    assert (beta.trades, beta.wins, beta.win_rate, beta.profit_factor) == (1, 1, D(1), None)
    assert beta.total_pnl == BETA_PNL and beta.max_drawdown == 0
    assert beta.total_pnl_ratio == D("0.03112798")  # 140.09925 / 4500.75
    assert [found.bot_id for found in only] == [trips.beta.id]


def test_max_drawdown_from_a_running_peak(db):
    """+10, -4, -8, +20, -15: the cumulative P&L goes 10, 6, -2, 18, 3; falls of 12 (from
    the peak 10 to -2), then 15 (from 18 to 3)."""
    from tests.trips import trade

    trips = book_trips(db, prefix="dd-")
    bot = trips.beta
    day = at("2024-05-01T00:00:00")
    for step, gain in enumerate(("10", "-4", "-8", "20", "-15")):
        when = day + timedelta(hours=step)
        trade(db, bot, "buy", "1", "100", "0", when)
        trade(db, bot, "sell", "1", str(100 + int(gain)), "0", when + timedelta(minutes=30))
    with db.reading() as session:
        (found,) = trades.performance(session=session, chosen=TradeFilter(bot_id=bot.id, since=day))
    assert found.trades == 5 and found.total_pnl == D(3)
    assert found.max_drawdown == D(15)
    assert found.profit_factor == quantize(D(30) / D(27))


def test_notional_in_sql_is_the_ledgers_quantize(db):
    """Half-even to 8 places, on amounts whose product in units overflows 64 bits (any
    notional up to 1e10 quote)."""
    chooser = random.Random(16)
    cases = [
        (D("0.00000001"), D("0.5")),  # half: rounds to the even 0
        (D("0.00000003"), D("0.5")),  # 1.5 units: to 2
        (D("1234.56789012"), D("98765.43210987")),
        (D("92000"), D("1000000")),
    ]
    for _ in range(60):
        quantity = D(chooser.randrange(1, 10**12)).scaleb(-8)  # up to 10,000
        price = D(chooser.randrange(1, 10**14)).scaleb(-8)  # up to 1,000,000
        cases.append((quantity, price))
    with db.reading() as session:
        for quantity, price in cases:
            # the stored columns' integer units
            stored = (literal(to_units(quantity), BigInteger), literal(to_units(price), BigInteger))
            expression = notional_units(*stored)
            units = session.execute(select(expression)).scalar_one()
            assert D(units).scaleb(-8) == quantize(quantity * price), (quantity, price)


def test_the_migration_assigns_old_fills_to_their_positions(db):
    """Fills booked before fill.position_id existed get the position the ledger gives."""
    book_trips(db)
    spec = importlib.util.spec_from_file_location("trades_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.reading() as session:
        booked = dict(session.execute(select(Fill.id, Fill.position_id)).all())
    with db.writing() as session:
        session.execute(update(Fill).values(position_id=None))
        session.execute(
            text(
                "UPDATE fill SET position_id = assigned.position_id "
                f"FROM ({migration.ASSIGNED}) AS assigned WHERE fill.id = assigned.fill_id"
            )
        )
    with db.reading() as session:
        assigned = dict(session.execute(select(Fill.id, Fill.position_id)).all())
        positions = session.execute(select(col(Position.id))).scalars().all()
    assert assigned == booked and None not in booked.values()
    assert set(booked.values()) == set(positions)
