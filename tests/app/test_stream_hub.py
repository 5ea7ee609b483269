"""The stream hub in-process on a real database: one poller tick fans each event out to the
subscribers of its channel, and a subscriber that falls behind its queue is dropped (its
queue emptied) instead of buffering without bound."""

import pytest

from botdesk.app.stream.hub import Hub, StreamRefused
from botdesk.db import stream_events
from botdesk.db.session import Database
from botdesk.settings import Settings
from tests.factories import make_bot, make_position, signal_row


@pytest.fixture
def hub(db: Database):
    settings = Settings(DATABASE_URL=db.url, STREAM_QUEUE_EVENTS=10, STREAM_MAX_PER_KEY=2)
    return Hub(db, settings, poller=False)  # each test drives the ticks itself


def _signals(db: Database, bot, count: int) -> None:
    with db.writing() as session:
        for number in range(count):
            session.add(signal_row(bot, number))


def test_a_tick_offers_each_event_to_its_channels_subscribers(db, hub):
    signals = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    positions = hub.subscribe(key_id=2, channels=frozenset({"positions"}))
    hub.tick()  # starts from what is there now
    bot = make_bot(db)
    _signals(db, bot, 2)
    position = make_position(db, bot)
    hub.tick()
    got_signals = signals.take(timeout=0)
    got_positions = positions.take(timeout=0)
    assert [f.channel for f in got_signals] == ["signals", "signals"]
    assert [f.channel for f in got_positions] == ["positions"]
    assert f'"id":{position.id}'.encode() in got_positions[0].data
    assert got_signals[0].seq < got_signals[1].seq < got_positions[0].seq
    assert signals.take(timeout=0) == []  # taken once


def test_a_subscriber_that_falls_behind_is_dropped_and_its_queue_freed(db, hub):
    slow = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    hub.tick()
    bot = make_bot(db)
    _signals(db, bot, 9)
    hub.tick()
    assert not slow.dropped  # 9 waiting of 10
    _signals(db, make_bot(db), 5)
    hub.tick()
    assert slow.dropped
    assert slow.take(timeout=0) == []  # nothing kept for it


def test_limits_per_key_then_per_worker(db):
    settings = Settings(DATABASE_URL=db.url, STREAM_MAX_CLIENTS=3, STREAM_MAX_PER_KEY=2)
    hub = Hub(db, settings, poller=False)
    for _ in range(2):
        hub.subscribe(key_id=1, channels=frozenset({"fills"}))
    with pytest.raises(StreamRefused) as per_key:
        hub.subscribe(key_id=1, channels=frozenset({"fills"}))
    assert per_key.value.status == 429
    last = hub.subscribe(key_id=2, channels=frozenset({"fills"}))
    with pytest.raises(StreamRefused) as per_worker:
        hub.subscribe(key_id=3, channels=frozenset({"fills"}))
    assert per_worker.value.status == 503
    hub.unsubscribe(last)
    hub.subscribe(key_id=3, channels=frozenset({"fills"}))
    hub.stop(wait=True)
    with pytest.raises(StreamRefused):
        hub.subscribe(key_id=4, channels=frozenset({"fills"}))


def test_an_event_numbered_between_subscribing_and_the_first_tick_is_offered(db, hub):
    """The client's catch-up read (right after subscribing) found nothing new; another
    desk worker's poller then numbered an event before this worker's first tick."""
    bot = make_bot(db)
    subscriber = hub.subscribe(key_id=1, channels=frozenset({"signals"}))
    _signals(db, bot, 1)
    with db.writing() as session:
        stream_events.stamp(session=session)
    hub.tick()
    assert [frame.channel for frame in subscriber.take(timeout=0)] == ["signals"]
