"""One poller thread per desk worker, fanning events out to bounded per-client queues.

The poller numbers committed events (db/stream_events.stamp), reads the new ones once per
tick, builds each frame once and offers it to every client subscribed to its channel. A
client's queue holds at most STREAM_QUEUE_EVENTS frames: one that falls that far behind is
marked dropped (its queue emptied at once) and told so, rather than buffered forever.
Clients are counted per worker: at most STREAM_MAX_CLIENTS, and STREAM_MAX_PER_KEY per key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque

from botdesk.app.stream import frames
from botdesk.db import stream_events
from botdesk.db.session import Database
from botdesk.settings import Settings

log = logging.getLogger(__name__)

READ_BATCH = 500
LISTEN_FALLBACK_SECONDS = 1.0  # PostgreSQL: a tick at least this often, notified or not
RETRY_AFTER_SECONDS = 5


class StreamRefused(Exception):
    """Too many streams: a 429 (this key's) or a 503 (this worker's), with Retry-After."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Subscriber:
    """One client's channels and its bounded queue of frames."""

    def __init__(self, *, key_id: int, channels: frozenset[str], capacity: int):
        self.key_id = key_id
        self.channels = channels
        self.capacity = capacity
        self.dropped = False
        self.closing = False
        self._frames: deque[frames.Frame] = deque()
        self._ready = threading.Condition()

    def offer(self, frame: frames.Frame) -> None:
        with self._ready:
            if self.dropped:
                return
            if len(self._frames) >= self.capacity:
                self.dropped = True
                self._frames.clear()
            else:
                self._frames.append(frame)
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self.closing = True
            self._ready.notify()

    def take(self, timeout: float) -> list[frames.Frame]:
        """Every waiting frame, waiting up to `timeout` for one; [] when none came."""
        with self._ready:
            self._ready.wait_for(lambda: self._frames or self.dropped or self.closing, timeout)
            taken = list(self._frames)
            self._frames.clear()
            return taken


class Hub:
    def __init__(self, db: Database, settings: Settings, *, poller: bool = True):
        """`poller=False`: no thread; the caller drives `tick()` (tests)."""
        self.db = db
        self.poller = poller
        self.poll_seconds = settings.STREAM_POLL_SECONDS
        self.max_clients = settings.STREAM_MAX_CLIENTS
        self.max_per_key = settings.STREAM_MAX_PER_KEY
        self.capacity = settings.STREAM_QUEUE_EVENTS
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._cursor: int | None = None  # the highest number fanned out

    def subscribe(self, *, key_id: int, channels: frozenset[str]) -> Subscriber:
        with self._lock:
            if self._stopping.is_set():
                raise StreamRefused(503, "unavailable", "this desk worker is stopping")
            held = Counter(s.key_id for s in self._subscribers)[key_id]
            if held >= self.max_per_key:
                raise StreamRefused(
                    429,
                    "too_many_streams",
                    f"this API key already holds {held} streams, its most; close one "
                    f"or try again in {RETRY_AFTER_SECONDS} s",
                )
            if len(self._subscribers) >= self.max_clients:
                raise StreamRefused(
                    503,
                    "too_many_streams",
                    f"this desk worker holds its most streams ({self.max_clients}); "
                    f"try again in {RETRY_AFTER_SECONDS} s",
                )
            if self._cursor is None:
                # Before the caller's catch-up reads the log: what it reads reaches at
                # least this far, and the poller offers everything after it.
                with self.db.reading() as session:
                    self._cursor = stream_events.newest(session=session)
            subscriber = Subscriber(key_id=key_id, channels=channels, capacity=self.capacity)
            self._subscribers.add(subscriber)
            if self._thread is None and self.poller:
                self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
                self._thread.start()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def stop(self, wait: bool = False) -> None:
        """The worker is stopping: every stream ends (with a `closing` event) and no new
        one starts, so a graceful stop does not wait for clients that never hang up.
        `wait`: also wait for the poller to finish its tick (not from a signal handler)."""
        self._stopping.set()
        with self._lock:
            for subscriber in self._subscribers:
                subscriber.close()
            poller = self._thread
        if wait and poller is not None:
            poller.join()

    def _run(self) -> None:
        # PostgreSQL wakes the poller when a change commits; SQLite has no such signal
        listener = None if self.db.is_sqlite else stream_events.ChangeListener(self.db.url)
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # the database may be away a moment: next tick retries
                log.exception("stream poller failed; retrying in %s s", self.poll_seconds)
            if listener is None:
                self._stopping.wait(self.poll_seconds)
                continue
            # At most one tick per poll interval however often changes commit (a tick
            # wakes every client thread: batching is what keeps 100 clients cheap), but
            # a change after a quiet spell is sent at once.
            self._stopping.wait(max(0.0, started + self.poll_seconds - time.monotonic()))
            listener.wait(LISTEN_FALLBACK_SECONDS)
        if listener is not None:
            listener.close()

    def tick(self) -> None:
        """Number new committed events, read them and offer them to the subscribers."""
        with self._lock:
            if not self._subscribers:
                self._cursor = None  # the next subscriber starts from what is new by then
                return
        with self.db.reading() as session:
            waiting = stream_events.unstamped(session=session)
        if waiting:
            with self.db.writing() as session:
                stream_events.stamp(session=session)
        while True:
            with self._lock:
                subscribers = list(self._subscribers)
            wanted = frozenset().union(*(s.channels for s in subscribers))
            with self.db.reading() as session:
                events = stream_events.after(session=session, seq=self._cursor, limit=READ_BATCH)
                built = frames.build(
                    session=session, events=[e for e in events if e.channel in wanted]
                )
            if not events:
                return
            for frame in built:
                for subscriber in subscribers:
                    if frame.channel in subscriber.channels:
                        subscriber.offer(frame)
            self._cursor = events[-1].seq
            if len(events) < READ_BATCH:
                return


_hubs: dict[int, Hub] = {}
_hubs_lock = threading.Lock()


def hub_for(db: Database, settings: Settings) -> Hub:
    """This process's hub for `db` (made on first use, so after gunicorn's fork)."""
    with _hubs_lock:
        if id(db) not in _hubs:
            _hubs[id(db)] = Hub(db, settings)
        return _hubs[id(db)]


def stop_all() -> None:
    with _hubs_lock:
        for hub in _hubs.values():
            hub.stop()
