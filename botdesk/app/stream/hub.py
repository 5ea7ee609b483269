"""One poller thread per desk worker, writing events to every client's socket itself.

The poller asks first whether anything was committed since its last tick (one indexed read,
db/stream_events.probe; nothing more when nothing was), numbers committed events
(db/stream_events.stamp), reads the new ones once per tick on the same connection, builds
each frame once and writes it to every client subscribed to its channel (one write per
client per tick, see outbox), with keep-alives and key rechecks in the same pass:
a tick is one thread's work however many clients listen, and a client's own thread sleeps
until its stream ends. A client holds at most STREAM_QUEUE_EVENTS unwritten frames: one
that falls that far behind is ended as dropped (its frames freed) and told so, rather than
buffered forever. Clients are counted per worker: at most STREAM_MAX_CLIENTS, and
STREAM_MAX_PER_KEY per key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque

from sqlalchemy import Connection
from sqlmodel import Session

from botdesk.app.stream import frames
from botdesk.app.stream.outbox import KEEP_ALIVE, Outbox
from botdesk.db import api_keys, stream_events
from botdesk.db.session import Database
from botdesk.settings import Settings

log = logging.getLogger(__name__)

READ_BATCH = 500
LISTEN_FALLBACK_SECONDS = 1.0  # PostgreSQL: a tick at least this often, notified or not
RETRY_AFTER_SECONDS = 5
KEY_RECHECK_SECONDS = 30  # at most; twice the heartbeat when that is shorter
STALL_SECONDS = 30  # at least; twice the heartbeat when that is longer


class StreamRefused(Exception):
    """Too many streams: a 429 (this key's) or a 503 (this worker's), with Retry-After."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Subscriber:
    """One client: its channels, then its outbox once its catch-up is written.

    Until `attach` (while the handler reads the catch-up from the log) the poller keeps the
    client's new frames here, at most `capacity`; after it, the poller writes them to the
    client's socket itself and the handler's thread sleeps until the stream `end`s. A client
    that falls `capacity` frames behind either way is ended as `dropped`, its frames freed.
    """

    def __init__(self, *, key_id: int, channels: frozenset[str], capacity: int, allowed=None):
        self.key_id = key_id
        self.channels = channels
        self.capacity = capacity
        # (KeyHolder | None) -> bool: whether the key, as it stands now, may still read
        # these channels from this client (None: the key is revoked, expired or gone)
        self.allowed = allowed
        self.ending: str | None = None  # dropped, closing, revoked or gone
        self._early: deque[frames.Frame] = deque()
        self._sent_up_to = 0  # the catch-up's last event: the poller may offer it again
        self._outbox: Outbox | None = None
        self._lock = threading.Lock()
        self._ended = threading.Event()

    @property
    def dropped(self) -> bool:
        return self.ending == "dropped"

    def offer(self, frame: frames.Frame) -> None:
        with self._lock:
            if self.ending is not None or frame.seq <= self._sent_up_to:
                return
            if self._outbox is None:
                if len(self._early) < self.capacity:
                    self._early.append(frame)
                    return
            elif self._outbox.put(frame.seq, frame.data):
                return
            self._end("dropped")

    def attach(self, outbox: Outbox, *, after: int) -> None:
        """The catch-up up to `after` is written: from now on the poller writes to `outbox`,
        starting with the frames kept meanwhile (those after `after`: none twice)."""
        with self._lock:
            outbox.last_seq = self._sent_up_to = after
            self._outbox = outbox
            early, self._early = self._early, deque()
            if self.ending is not None:
                return
            if not all(outbox.put(f.seq, f.data) for f in early if f.seq > after):
                self._end("dropped")
                return
            self._send()

    def send(self, *, heartbeat: float, stall: float) -> None:
        """The poller's pass: write what waits, and a keep-alive when quiet that long; a
        client that took nothing for `stall` seconds is gone."""
        with self._lock:
            if self._outbox is None or self.ending is not None:
                return
            now = time.monotonic()
            if self._outbox.stalled(now=now, after=stall):
                self._end("gone")
                return
            if not len(self._outbox) and now - self._outbox.written_at >= heartbeat:
                self._outbox.put(None, KEEP_ALIVE)
            self._send()

    def _send(self) -> None:
        try:
            self._outbox.flush()
        except OSError:  # hung up or reset
            self._end("gone")

    def end(self, reason: str) -> None:
        with self._lock:
            if self.ending is None:
                self._end(reason)

    def _end(self, reason: str) -> None:
        self.ending = reason
        self._early.clear()
        self._ended.set()

    def wait(self) -> tuple[str, int | None, bytes]:
        """(handler) Sleep until the stream ends: why, the newest event id the client got
        or is getting, and the unwritten rest of a frame begun (write it first)."""
        self._ended.wait()
        with self._lock:
            if self._outbox is None:
                return self.ending, None, b""
            rest = self._outbox.discard()
            return self.ending, self._outbox.last_seq, rest


class Hub:
    def __init__(self, db: Database, settings: Settings, *, poller: bool = True):
        """`poller=False`: no thread; the caller drives `tick()` (tests)."""
        self.db = db
        self.poller = poller
        self.poll_seconds = settings.STREAM_POLL_SECONDS
        self.max_clients = settings.STREAM_MAX_CLIENTS
        self.max_per_key = settings.STREAM_MAX_PER_KEY
        self.capacity = settings.STREAM_QUEUE_EVENTS
        self.heartbeat = settings.STREAM_HEARTBEAT_SECONDS
        self.recheck_every = min(KEY_RECHECK_SECONDS, 2 * self.heartbeat)
        # a client that takes no byte this long is let go (its socket's timeout too)
        self.stall_seconds = max(STALL_SECONDS, 2 * self.heartbeat)
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._cursor: int | None = None  # the highest number fanned out
        self._checked_at = time.monotonic()  # when the keys were last rechecked
        self._connection: Connection | None = None  # the poller's, held across ticks

    def subscribe(self, *, key_id: int, channels: frozenset[str], allowed=None) -> Subscriber:
        """A new client's place (StreamRefused past a limit); `allowed(holder) -> bool`
        says whether its key, read again every `recheck_every`, may still read its
        channels (the keys of every client are read in one statement)."""
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
            subscriber = Subscriber(
                key_id=key_id, channels=channels, capacity=self.capacity, allowed=allowed
            )
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
                subscriber.end("closing")
            poller = self._thread
        if wait and poller is not None:
            poller.join()

    def _run(self) -> None:
        # PostgreSQL wakes the poller when a change commits; SQLite has no such signal
        listener = None if self.db.is_sqlite else stream_events.ChangeListener(self.db.url)
        changed = False
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self.tick(changed=changed)
            except Exception:  # the database may be away a moment: next tick retries
                log.exception("stream poller failed; retrying in %s s", self.poll_seconds)
            if listener is None:
                self._stopping.wait(self.poll_seconds)
                continue
            # At most one tick per poll interval however often changes commit (a tick
            # writes to every client: batching is what keeps 100 clients cheap), but a
            # change after a quiet spell is sent at once.
            self._stopping.wait(max(0.0, started + self.poll_seconds - time.monotonic()))
            changed = listener.wait(LISTEN_FALLBACK_SECONDS)
        if listener is not None:
            listener.close()
        self.close()

    def close(self) -> None:
        """Give back the poller's connection (the next tick opens another)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: nothing to give back
                log.debug("stream poller's connection was already broken", exc_info=True)

    def tick(self, *, changed: bool = False) -> None:
        """Number new committed events, offer them to the subscribers, write to each
        client what waits for it (a keep-alive when quiet) and recheck keys when due.
        `changed`: PostgreSQL said a change committed (no need to ask first)."""
        with self._lock:
            if not self._subscribers:
                self._cursor = None  # the next subscriber starts from what is new by then
                self.close()  # no client: no connection held
                return
        if self._connection is None:
            self._connection = self.db.open_polling()
        try:
            delivered = self._fan_out(self._connection, changed=changed)
            with self._lock:
                subscribers = list(self._subscribers)
            self._recheck(self._connection, subscribers)
        except Exception:
            self.close()  # perhaps broken: the next tick opens another
            raise
        if delivered:
            return  # each subscriber was written to (and checked for a stall) as it was
        for subscriber in subscribers:
            subscriber.send(heartbeat=self.heartbeat, stall=self.stall_seconds)

    def _recheck(self, connection, subscribers: list[Subscriber]) -> None:
        """Every `recheck_every`: every client's key read again, all in one statement; a
        client whose key may no longer read its channels is ended as revoked."""
        checked = [s for s in subscribers if s.allowed is not None]
        now = time.monotonic()
        if not checked or now - self._checked_at < self.recheck_every:
            return
        self._checked_at = now
        with Session(bind=connection) as session:
            holders = api_keys.holders(session=session, key_ids={s.key_id for s in checked})
        connection.commit()
        for subscriber in checked:
            if not subscriber.allowed(holders.get(subscriber.key_id)):
                subscriber.end("revoked")

    def _fan_out(self, connection: Connection, *, changed: bool) -> bool:
        """On the poller's connection, held from tick to tick. A tick when nothing was
        committed since the last one costs one indexed read (the probe); otherwise the
        events are numbered if some wait (one round trip on PostgreSQL), then read after
        the cursor with their rows. A tick woken by PostgreSQL's change notice numbers
        at once: the probe would only say what the notice said (a round trip less, and
        one wake-up less of the poller while the desk's pages run). Whether events were
        delivered (each subscriber then had its pass)."""
        if changed and not self.db.is_sqlite:
            self._stamp(connection)
        else:
            newest, waiting = stream_events.probe(connection=connection)
            connection.commit()  # the read that follows sees what this tick numbers
            if waiting:
                self._stamp(connection)
            elif newest <= self._cursor:
                return False  # nothing new: nothing read
        delivered = False
        while True:
            events = stream_events.after(session=connection, seq=self._cursor, limit=READ_BATCH)
            more = self._deliver(connection, events)
            connection.commit()
            delivered = delivered or bool(events)
            if not more:
                return delivered

    def _deliver(self, reader, events: list) -> bool:
        """Build `events` (those a subscriber wants) with rows read through `reader`, offer
        each frame to its channel's subscribers, then write to each of them (before the next
        batch fills their outboxes). Whether a full batch was read (more may follow)."""
        with self._lock:
            subscribers = list(self._subscribers)
        wanted = frozenset().union(*(s.channels for s in subscribers))
        built = frames.build(session=reader, events=[e for e in events if e.channel in wanted])
        if not events:
            return False
        for frame in built:
            for subscriber in subscribers:
                if frame.channel in subscriber.channels:
                    subscriber.offer(frame)
        for subscriber in subscribers:
            subscriber.send(heartbeat=self.heartbeat, stall=self.stall_seconds)
        self._cursor = events[-1].seq
        return len(events) == READ_BATCH

    def _stamp(self, connection) -> None:
        if self.db.is_sqlite:  # SQLite's writer lock (BEGIN IMMEDIATE, in turn)
            with self.db.writing() as session:
                stream_events.stamp(session=session)
        else:
            stream_events.stamp_at_once(connection=connection)


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
