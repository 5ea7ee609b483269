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

import psycopg
from sqlalchemy import delete, func, select, text, update
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


def stamp(*, session: Session, limit: int = STAMP_BATCH) -> int:
    """Number committed, unnumbered events in id order above the highest number; returns
    how many were numbered. Call in a writing session (its commit publishes the numbers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STAMP_LOCK})
    top = newest(session=session)
    ids = session.scalars(
        select(StreamEvent.id)
        .where(col(StreamEvent.seq).is_(None))
        .order_by(col(StreamEvent.id))
        .limit(limit)
    ).all()
    if ids:
        numbers = [{"id": event_id, "seq": top + n} for n, event_id in enumerate(ids, 1)]
        session.execute(update(StreamEvent), numbers)
    return len(ids)


def newest(*, session: Session) -> int:
    """The highest event number given so far (0 before the first)."""
    return session.scalar(select(func.max(StreamEvent.seq))) or 0


def oldest(*, session: Session) -> int | None:
    """The lowest event number still kept, None when none is."""
    return session.scalar(select(func.min(StreamEvent.seq)))


def after(
    *, session: Session, seq: int, channels: frozenset[str] | None = None, limit: int = 500
) -> list[StreamEvent]:
    """Numbered events above `seq`, oldest first, of `channels` (None: all)."""
    statement = select(StreamEvent).where(col(StreamEvent.seq) > seq)
    if channels is not None:
        statement = statement.where(col(StreamEvent.channel).in_(sorted(channels)))
    return list(session.scalars(statement.order_by(col(StreamEvent.seq)).limit(limit)).all())


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
    triggers' NOTIFY), or after `timeout`. Its own connection, opened on first use and
    again after a failure (then it just waits out the timeout)."""

    def __init__(self, url: str):
        self.conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._connection: psycopg.Connection | None = None

    def wait(self, timeout: float) -> None:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self.conninfo, autocommit=True)
                self._connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                pass
            for _ in self._connection.notifies(timeout=0):  # a burst: one wake-up
                pass
        except psycopg.Error as error:
            log.warning("stream change listener lost its connection (%s); polling", error)
            self.close()
            time.sleep(timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
