"""The stream's change log: numbering committed events, reading them after a number, pruning.

Why a number stamped after commit rather than the row's id: on PostgreSQL an id is taken
when a row is inserted, not when its transaction commits, so a reader that had passed id
11 would never see id 10 committed a moment later, and a client resuming after 11 would
lose it. `stamp` numbers only committed rows, one stamper at a time (an advisory lock on
PostgreSQL; SQLite's single writer), each number above every number already committed:
`seq` order is commit order, and "every event after N" means exactly that.
"""

import logging
import time
from typing import NamedTuple

import psycopg
from sqlalchemy import Connection, Row, bindparam, delete, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col

from botdesk.db.models import Scope, StreamEvent
from botdesk.db.types import utcnow

# Channel -> the scope a key needs to receive it (viewers see the ledger and the market;
# the audit log is for admins, as on the desk).
CHANNELS = {
    "signals": Scope.READ,
    "orders": Scope.READ,
    "fills": Scope.READ,
    "positions": Scope.READ,
    "kill_switch": Scope.READ,
    "risk_events": Scope.READ,
    "candles": Scope.READ,
    "commands": Scope.READ,
    "audit": Scope.ADMIN,
}
log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "botdesk_stream"  # the triggers NOTIFY it on PostgreSQL (migration stream_1)
_STAMP_LOCK = 0x5354524D  # PostgreSQL advisory lock key: "STRM"
STAMP_BATCH = 5000


def unstamped(*, session: Session) -> bool:
    """Whether a committed event waits for its number (a cheap read, no write lock)."""
    found = select(StreamEvent.id).where(col(StreamEvent.seq).is_(None)).limit(1)
    return session.scalar(found) is not None


class Probe(NamedTuple):
    newest: int  # the highest number given so far (0 before the first)
    waiting: bool  # whether a committed event waits for its number


# Both in one indexed read (the unique index on seq holds the unnumbered rows too).
_PROBE = text(
    "SELECT (SELECT max(seq) FROM stream_event), "
    "EXISTS (SELECT 1 FROM stream_event WHERE seq IS NULL)"
)


def probe(*, connection: Connection | Session) -> Probe:
    """What a poller's tick needs to know first: whether anything was committed since it
    last read (a newer number, or an event waiting for one). One statement."""
    newest, waiting = connection.execute(_PROBE).one()
    return Probe(newest or 0, bool(waiting))


# The unnumbered events in id order, numbered above the highest number, in one statement.
_STAMP = """UPDATE stream_event SET seq = waiting.top + waiting.n
FROM (SELECT id, (SELECT coalesce(max(seq), 0) FROM stream_event) AS top,
             row_number() OVER (ORDER BY id) AS n
      FROM stream_event WHERE seq IS NULL ORDER BY id LIMIT {limit}) AS waiting
WHERE stream_event.id = waiting.id"""


def stamp(*, session: Session, limit: int = STAMP_BATCH) -> int:
    """Number committed, unnumbered events in id order above the highest number; returns
    how many were numbered. Call in a writing session (its commit publishes the numbers)."""
    if session.get_bind().dialect.name == "postgresql":
        # before the numbering's statement, so its snapshot sees the last stamper's numbers
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STAMP_LOCK})
    return session.execute(text(_STAMP.format(limit=int(limit)))).rowcount


def stamp_at_once(*, connection: Connection) -> None:
    """PostgreSQL, on an autocommit connection: `stamp` in one round trip. The two
    statements sent as one query run as one transaction (the lock is held to its end),
    each with its own snapshot (READ COMMITTED): the numbering sees the last stamper's."""
    lock = f"SELECT pg_advisory_xact_lock({_STAMP_LOCK})"
    connection.exec_driver_sql(f"{lock}; {_STAMP.format(limit=STAMP_BATCH)}")


def newest(*, session: Session) -> int:
    """The highest event number given so far (0 before the first)."""
    return session.scalar(select(func.max(StreamEvent.seq))) or 0


def oldest(*, session: Session) -> int | None:
    """The lowest event number still kept, None when none is."""
    return session.scalar(select(func.min(StreamEvent.seq)))


_AFTER = (
    "SELECT id, seq, channel, row_id, symbol, timeframe, at_ms FROM stream_event "
    "WHERE seq > :seq {channels}ORDER BY seq LIMIT :limit"
)
# Built once: the poller reads after its cursor every tick it has something to read.
_AFTER_ALL = text(_AFTER.format(channels=""))
_AFTER_OF = text(_AFTER.format(channels="AND channel IN :channels ")).bindparams(
    bindparam("channels", expanding=True)
)


def after(
    *,
    session: Session | Connection,
    seq: int,
    channels: frozenset[str] | None = None,
    limit: int = 500,
) -> list[Row]:
    """Numbered events above `seq`, oldest first, of `channels` (None: all): rows with
    StreamEvent's columns (plain rows, no ORM objects: the poller reads them every tick)."""
    if channels is None:
        return list(session.execute(_AFTER_ALL, {"seq": seq, "limit": limit}).all())
    values = {"seq": seq, "limit": limit, "channels": sorted(channels)}
    return list(session.execute(_AFTER_OF, values).all())


def prune(*, session: Session, keep_hours: float) -> int:
    """Delete numbered events older than `keep_hours`; the newest numbered event is always
    kept so numbering carries on above it. Returns how many were deleted."""
    cutoff_ms = int(utcnow().timestamp() * 1000 - keep_hours * 3_600_000)
    top = newest(session=session)
    result = session.execute(
        delete(StreamEvent).where(
            col(StreamEvent.at_ms) < cutoff_ms,
            col(StreamEvent.seq).is_not(None),
            col(StreamEvent.seq) < top,
        )
    )
    return result.rowcount or 0


class ChangeListener:
    """PostgreSQL: `wait` returns as soon as a streamed change commits (LISTEN on the
    triggers' NOTIFY), or after `timeout`, and says which. Its own connection, opened on
    first use and again after a failure (then it just waits out the timeout)."""

    def __init__(self, url: str):
        self.conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._connection: psycopg.Connection | None = None

    def wait(self, timeout: float) -> bool:
        """Whether a change committed (False: the timeout passed, or the connection was
        lost and the timeout waited out)."""
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self.conninfo, autocommit=True)
                self._connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            changed = False
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                changed = True
            for _ in self._connection.notifies(timeout=0):  # a burst: one wake-up
                changed = True
            return changed
        except psycopg.Error as error:
            log.warning("stream change listener lost its connection (%s); polling", error)
            self.close()
            time.sleep(timeout)
            return False

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
