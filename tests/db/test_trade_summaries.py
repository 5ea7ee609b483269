"""Each bot's trade summary, kept by the ledger as fills close positions, against what the
fills say (folded here from the fill rows alone) and the fill-based performance reference
(tests/db/reference_trades.py), to the unit, on SQLite and PostgreSQL: partial exits, a
trade whose closing fill is reported after a later trade closed, and the migration that
fills the table in for positions closed before it."""

import importlib.util
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select
from sqlmodel import col

from botdesk.db import trade_summaries, trades
from botdesk.db.models import Fill, TradeSummary
from botdesk.db.trade_summaries import Running
from botdesk.db.types import from_units, quantize, to_units
from tests.db import reference_trades
from tests.db.test_trades_fast import random_trips
from tests.factories import make_bot
from tests.trips import at, book_trips, trade

D = Decimal
MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "botdesk/db/migrations/versions/0019_tradeleft_trade_summary.py"
)


def from_fills(db) -> dict[int, Running]:
    """Each bot's summary from its fill rows only: a position is closed when its buys and
    sells are the same quantity; its P&L is its fills' P&L, its cost its buys' notionals,
    it opened at its first fill and closed at its last."""
    trips: dict[int, dict] = {}
    with db.reading() as session:
        for fill in session.execute(select(Fill).order_by(col(Fill.id))).scalars():
            trip = trips.setdefault(
                fill.position_id,
                {"bot": fill.bot_id, "held": D(0), "pnl": D(0), "cost": D(0), "times": []},
            )
            trip["pnl"] += fill.realized_pnl
            trip["times"].append(fill.filled_at)
            if fill.side == "buy":
                trip["held"] += fill.quantity
                trip["cost"] += quantize(fill.quantity * fill.price)
            else:
                trip["held"] -= fill.quantity
    closed = sorted(
        (trip["bot"], max(trip["times"]), position_id, trip)
        for position_id, trip in trips.items()
        if trip["held"] == 0
    )
    return trade_summaries.fold(
        (
            bot,
            to_units(trip["pnl"]),
            to_units(trip["cost"]),
            min(trip["times"]),
            closed_at,
            position_id,
        )
        for bot, closed_at, position_id, trip in closed
    )


def stored(db) -> dict[int, Running]:
    with db.reading() as session:
        return trade_summaries.summaries(session=session)


def test_the_ledgers_summaries_are_what_the_fills_say_to_the_unit(db):
    trips = book_trips(db)
    random_trips(db, random.Random(20))
    kept = stored(db)
    assert kept == from_fills(db)
    alpha = kept[trips.alpha.id]  # tests/trips.py: a partial exit, then a take-profit
    assert (alpha.trades, alpha.wins) == (2, 1)
    assert from_units(alpha.pnl) == D("-159.87533333") + D("87.44995")
    assert alpha.pnl_ratios == D("-0.00532918") + D("0.01410472")
    assert (alpha.peak, from_units(alpha.max_drawdown)) == (0, D("159.87533333"))
    assert alpha.held_us == (3 * 3600 + 30 * 60 + 45 * 60) * 10**6
    with db.reading() as session:
        for bot_id in (None, trips.alpha.id, trips.beta.id):
            chosen = trades.TradeFilter(bot_id=bot_id)
            fast = trades.performance(session=session, chosen=chosen)
            assert fast == reference_trades.performance(session=session, chosen=chosen)
        assert trades.performance(session=session, chosen=trades.TradeFilter(status="open")) == []
    with db.writing() as session:
        trade_summaries.rebuild(session=session)
    assert stored(db) == kept


def test_a_close_reported_late_is_counted_in_closing_order(db):
    """Position 1 closes at 12:00 but its fill is booked after position 2's 13:00 close:
    the running peak and drawdown follow the closing order (-50, +100, -60: peak 50,
    drawdown 60), not the booking order (+100, -50, -60 would give peak 100, drawdown 110)."""
    bot = make_bot(db, name="late", symbol="BTCUSDT")
    trade(db, bot, "buy", "1", "100", "0", at("2024-05-01T10:00:00"))
    bot.symbol = "ETHUSDT"  # the bot trades a second symbol (its symbol was changed)
    trade(db, bot, "buy", "1", "100", "0", at("2024-05-01T11:00:00"))
    trade(db, bot, "sell", "1", "200", "0", at("2024-05-01T13:00:00"), purpose="exit")
    bot.symbol = "BTCUSDT"
    trade(db, bot, "sell", "1", "50", "0", at("2024-05-01T12:00:00"), purpose="stop_loss")
    trade(db, bot, "buy", "1", "100", "0", at("2024-05-01T14:00:00"))
    trade(db, bot, "sell", "1", "40", "0", at("2024-05-01T15:00:00"), purpose="stop_loss")
    kept = stored(db)[bot.id]
    assert (kept.pnl, kept.peak, kept.max_drawdown) == (-10 * 10**8, 50 * 10**8, 60 * 10**8)
    assert kept == from_fills(db)[bot.id]
    with db.reading() as session:
        fast = trades.performance(session=session)
        assert fast == reference_trades.performance(session=session)
    assert fast[0].max_drawdown == D(60)


def test_the_migration_fills_in_the_summaries_of_positions_closed_before_it(db):
    book_trips(db)
    random_trips(db, random.Random(21))
    spec = importlib.util.spec_from_file_location("tradeleft_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    kept = stored(db)
    with db.writing() as session:
        session.execute(delete(TradeSummary))
    assert stored(db) == {}
    with db.writing() as session:
        assert migration.backfill(session.connection()) == len(kept) == 5
    assert stored(db) == kept == from_fills(db)


def test_a_deleted_bots_summary_goes_with_it(db):
    trips = book_trips(db)
    with db.writing() as session:
        session.delete(session.get(type(trips.beta), trips.beta.id))
    assert set(stored(db)) == {trips.alpha.id}


def test_a_filtered_view_folds_the_chosen_positions(db):
    """By symbol or entry day the figures come from the positions, as before."""
    trips = book_trips(db)
    random_trips(db, random.Random(22))
    with db.reading() as session:
        for chosen in (
            trades.TradeFilter(symbol="ETHUSDT"),
            trades.TradeFilter(since=at("2024-06-01T12:00:00")),
            trades.TradeFilter(bot_id=trips.alpha.id, until=at("2024-04-02T00:00:00")),
        ):
            fast = trades.performance(session=session, chosen=chosen)
            assert fast == reference_trades.performance(session=session, chosen=chosen)
            assert fast, chosen
    assert timedelta(0) < fast[0].average_duration
