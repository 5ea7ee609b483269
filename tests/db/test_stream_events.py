"""The stream's change log on both databases: the triggers write one event per change that
matters, `stamp` numbers committed events in commit order, `prune` keeps the numbering."""

import importlib.util
import threading
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from botdesk.db import candles, kill_switch, stream_events
from botdesk.db.models import Order, Position, Role, StreamEvent
from botdesk.db.session import Database
from tests.factories import make_bot, make_position, signal_row

VERSIONS = Path(__file__).parents[2] / "botdesk/db/migrations/versions"
_spec = importlib.util.spec_from_file_location(
    "botdesk_migration_streamfix_1", VERSIONS / "0018_streamfix_sqlite_triggers.py"
)
streamfix_1 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(streamfix_1)


def _numbered(db: Database) -> list[tuple[str, int]]:
    with db.writing() as session:
        stream_events.stamp(session=session)
    with db.reading() as session:
        return [(e.channel, e.row_id) for e in stream_events.after(session=session, seq=0)]


def test_each_streamed_change_writes_one_event_and_marks_do_not(db):
    bot = make_bot(db)
    with db.writing() as session:
        signal = signal_row(bot, 1)
        session.add(signal)
        session.flush()
        order = Order(
            bot_id=bot.id, client_order_id="s-1", symbol="BTCUSDT", side="buy", quantity=1
        )
        session.add(order)
    position = make_position(db, bot)
    with db.writing() as session:
        session.get(Order, order.id).status = "filled"  # an event
        moved = session.get(Position, position.id)
        moved.last_price = Decimal("61000")  # mark-to-market: not an event
        moved.unrealized_pnl = Decimal("500")
    with db.writing() as session:
        session.get(Position, position.id).status = "closed"  # an event
        kill_switch.engage(session=session, by="ann", role=Role.TRADER, reason="test stop")
        candles.upsert(
            session=session,
            candles=[
                {
                    "symbol": "ETHUSDT",
                    "timeframe": "5m",
                    "open_time_ms": 1_700_000_100_000,
                    **dict.fromkeys(("open", "high", "low", "close", "volume"), Decimal(1)),
                }
            ],
        )
    events = _numbered(db)
    assert ("signals", signal.id) in events
    assert events.count(("orders", order.id)) == 2  # placed, then filled
    assert events.count(("positions", position.id)) == 2  # opened, then closed
    assert ("kill_switch", 1) in events
    assert ("candles", 1_700_000_100_000) in events
    assert any(channel == "commands" for channel, _ in events)  # the engage command
    assert any(channel == "audit" for channel, _ in events)  # the command's audit row
    with db.reading() as session:
        candle = session.exec(select(StreamEvent).where(StreamEvent.channel == "candles")).one()
    assert (candle.symbol, candle.timeframe) == ("ETHUSDT", "5m")


def test_a_rolled_back_change_leaves_no_event(db):
    bot = make_bot(db)
    try:
        with db.writing() as session:
            session.add(signal_row(bot, 1))
            session.flush()
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    assert _numbered(db) == []


def test_numbers_follow_commit_order_not_insert_order(db):
    """A transaction that inserted first but commits last gets the higher number: a reader
    that already passed the other event still sees it (on PostgreSQL ids would not)."""
    bot = make_bot(db)
    if db.is_sqlite:  # one writer at a time: insert order is commit order, nothing to show
        first = make_position(db, bot)
        assert _numbered(db) == [("positions", first.id)]
        return
    inserted = threading.Event()
    release = threading.Event()
    slow_id = {}

    def slow_writer():
        with db.writing() as session:
            signal = signal_row(bot, 1)
            session.add(signal)
            session.flush()
            slow_id["id"] = signal.id
            inserted.set()
            release.wait(10)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    inserted.wait(10)
    with db.writing() as session:
        fast = signal_row(bot, 2)
        session.add(fast)
    assert _numbered(db) == [("signals", fast.id)]  # the slow one is not committed yet
    release.set()
    writer.join()
    assert slow_id["id"] < fast.id
    with db.writing() as session:
        stream_events.stamp(session=session)
    with db.reading() as session:
        later = stream_events.after(session=session, seq=1)
    assert [(e.channel, e.row_id, e.seq) for e in later] == [("signals", slow_id["id"], 2)]


def test_prune_keeps_the_newest_so_numbers_never_repeat(db):
    bot = make_bot(db)
    for number in range(3):
        with db.writing() as session:
            session.add(signal_row(bot, number))
    _numbered(db)
    with db.writing() as session:
        session.execute(text("UPDATE stream_event SET at_ms = 0"))  # all of them long ago
        assert stream_events.prune(session=session, keep_hours=1) == 2
    with db.writing() as session:
        session.add(signal_row(bot, 9))
    with db.writing() as session:
        stream_events.stamp(session=session)
    with db.reading() as session:
        assert stream_events.oldest(session=session) == 3
        assert [e.seq for e in stream_events.after(session=session, seq=0)] == [3, 4]


def test_on_postgresql_a_committed_change_wakes_the_listener(db):
    """The triggers NOTIFY at commit: a listener waiting a minute returns at once (the
    join's bound is a liveness bound, far below the minute it would otherwise wait)."""
    if db.is_sqlite:
        return  # SQLite has no notifications; the poller ticks instead
    bot = make_bot(db)
    listener = stream_events.ChangeListener(db.url)
    listener.wait(0)  # connected and listening before the change
    woke = threading.Thread(target=listener.wait, args=(60,))
    woke.start()
    with db.writing() as session:
        session.add(signal_row(bot, 1))
    woke.join(20)
    try:
        assert not woke.is_alive()
    finally:
        listener.close()


def test_every_streamed_table_has_its_triggers_at_the_head(db):
    """A migration that rebuilds a table (SQLite's batch mode) drops its triggers: every
    streamed table must still have them once all migrations have run."""
    stream = streamfix_1.stream_1()
    expected = {
        f"stream_{table}_{verb}"
        for table, (_, watched) in stream.STREAMED.items()
        for verb, wanted in (
            ("insert", table not in stream.NO_INSERT_EVENT),
            ("update", bool(watched)),
        )
        if wanted
    }
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        if db.is_sqlite
        else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    )
    with db.reading() as session:
        present = {row[0] for row in session.execute(text(query))}
    assert expected <= present, sorted(expected - present)


def test_on_postgresql_the_one_round_trip_stamp_numbers_after_the_stamper_before_it(db):
    """The poller's stamp sends the lock and the numbering as one query: the numbering must
    wait for a stamper holding the lock and then see its numbers (its own snapshot, taken
    after the lock), not number from what it saw before (a repeated number)."""
    if db.is_sqlite:
        return  # SQLite numbers in a writing transaction (its writer lock) instead
    bot = make_bot(db)
    for number in (1, 2):
        with db.writing() as session:
            session.add(signal_row(bot, number))
    stamped = []
    with db.writing() as first:
        assert stream_events.stamp(session=first, limit=1) == 1  # holds the lock

        def second() -> None:
            with db.open_polling() as connection:
                stream_events.stamp_at_once(connection=connection)
            stamped.append(True)

        waiting = threading.Thread(target=second)
        waiting.start()
        with db.open_polling() as connection:  # until the second stamper waits for the lock
            blocked = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            for _ in range(400):
                if waited := connection.scalar(blocked):
                    break
                threading.Event().wait(0.05)
        assert waited  # on the stamp lock (not on the first stamper's rows)
        assert not stamped
    waiting.join(20)
    assert stamped
    with db.reading() as session:
        events = stream_events.after(session=session, seq=0)
    assert [e.seq for e in events] == [1, 2]
    assert [e.row_id for e in events] == sorted(e.row_id for e in events)  # commit order
