"""Bot leases: which engine runs which bot.

On PostgreSQL several engines share the bots. Every few seconds each engine renews its
leases, works out its fair share (the wanted bots divided by the live engines, rounded
up), hands back what it holds beyond that share, and claims free or expired bots up to
it with `SELECT ... FOR UPDATE SKIP LOCKED`, so two engines never claim the same bot. A
dead engine stops renewing; its leases expire after `BOTDESK_LEASE_SECONDS` and the
others take its bots over. On SQLite one engine (the file lock guarantees it) leases
every bot.

Renewal runs on a thread of its own (`LeaseKeeper`), and a candle pass that lasts
extends the leases it works under as it goes (`extend`), so a lease never lapses under
load and no bot-candle is skipped for want of one.
"""

import logging
import math
import threading
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, func, or_, select

from botdesk.db.models import ACTIVE_BOT_STATES, Bot, EngineInstance
from botdesk.db.types import utcnow

log = logging.getLogger(__name__)


def live_engines(session, *, stale_seconds: float) -> int:
    cutoff = utcnow() - timedelta(seconds=stale_seconds)
    count = session.exec(
        select(func.count())
        .select_from(EngineInstance)
        .where(col(EngineInstance.stopped_at).is_(None), col(EngineInstance.last_beat) > cutoff)
    ).one()
    return max(1, count)


def renew(runtime) -> list[int]:
    """Renew, rebalance and claim leases; returns the ids of the bots this engine holds."""
    settings = runtime.settings
    me = runtime.engine_id
    now = utcnow()
    expires = now + timedelta(seconds=settings.LEASE_SECONDS)
    with runtime.db.writing() as session:
        wanted = col(Bot.desired_state).in_(ACTIVE_BOT_STATES)
        if runtime.db.is_sqlite:
            session.execute(
                update(Bot).where(wanted).values(lease_owner=me, lease_expires_at=expires)
            )
            return list(session.exec(select(Bot.id).where(wanted)).all())
        session.execute(
            update(Bot)
            .where(Bot.lease_owner == me, ~wanted)
            .values(lease_owner=None, lease_expires_at=None)
        )
        total = session.exec(select(func.count()).select_from(Bot).where(wanted)).one()
        share = math.ceil(
            total / live_engines(session, stale_seconds=settings.HEARTBEAT_STALE_SECONDS)
        )
        mine = list(
            session.exec(
                select(Bot.id).where(Bot.lease_owner == me, wanted).order_by(col(Bot.id))
            ).all()
        )
        if len(mine) > share:
            extra = mine[share:]
            session.execute(
                update(Bot)
                .where(col(Bot.id).in_(extra))
                .values(lease_owner=None, lease_expires_at=None)
            )
            mine = mine[:share]
            log.info("handed back %d bot lease(s) to even the load", len(extra))
        if len(mine) < share:
            free = session.exec(
                select(Bot.id)
                .where(
                    wanted,
                    or_(col(Bot.lease_owner).is_(None), col(Bot.lease_expires_at) < now),
                )
                .order_by(col(Bot.id))
                .limit(share - len(mine))
                .with_for_update(skip_locked=True)
            ).all()
            if free:
                log.info("claimed %d bot lease(s)", len(free))
            mine += list(free)
        if mine:
            _lock_in_order(session, col(Bot.id).in_(mine))
            session.execute(
                update(Bot)
                .where(col(Bot.id).in_(mine))
                .values(lease_owner=me, lease_expires_at=expires)
            )
        return mine


def _lock_in_order(session, where) -> None:
    """Lock the rows by id first: a candle batch locks its bots in id order too, so the
    two never wait on each other in a circle."""
    session.exec(select(Bot.id).where(where).order_by(col(Bot.id)).with_for_update()).all()


def extend(runtime) -> int:
    """Push back the expiry of the leases this engine still holds (nothing else: no
    rebalancing, no claim); returns how many. A long candle pass calls it as it goes, so
    no lease it is working under lapses before the pass ends. A lease that expired while
    one long batch held its bots' rows is still this engine's as long as no other engine
    claimed it (a claim writes its own id, under the row lock), so it is extended too.
    Never on SQLite."""
    if runtime.db.is_sqlite:
        return 0
    now = utcnow()
    with runtime.db.writing() as session:
        _lock_in_order(session, Bot.lease_owner == runtime.engine_id)
        result = session.execute(
            update(Bot)
            .where(Bot.lease_owner == runtime.engine_id)
            .values(lease_expires_at=now + timedelta(seconds=runtime.settings.LEASE_SECONDS))
        )
        return result.rowcount or 0


class LeaseKeeper:
    """Renews this engine's leases every `interval` seconds on a thread of its own, with
    sessions of its own: no job of the scheduler's pool and no long candle pass can delay
    it (a pass renews as it goes too: `extend`)."""

    def __init__(self, runtime, interval: float):
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                renew(self.runtime)
            except Exception:  # the database is away: try again on the next beat
                log.exception("renewing the bot leases failed; retrying")
