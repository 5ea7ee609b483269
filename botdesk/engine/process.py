"""`botdesk engine`: the APScheduler process that runs the bots.

Jobs: heartbeat (1 s), the command consumer (100 ms), the market job (poll the feed,
store candles, run the bots: 200 ms), the brokers' dispatch (send
what the order path recorded, outside transactions: 250 ms), broker reconciliation
(at start, then every BOTDESK_RECONCILE_SECONDS, default 30 s) and the feed's listing of
its symbols (at start; Binance's hourly, see engine/listing.py). The bot leases are
renewed every 2 s on a thread of their own (`leases.LeaseKeeper`), which no job can hold
up. SIGTERM and SIGINT stop the scheduler after the running jobs finish; the instance is
marked stopped.
"""

import faulthandler
import logging
import os
import signal
import socket
import threading
import time
from datetime import UTC

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlmodel import select

import botdesk.engine.handlers  # noqa: F401  (registers the command handlers)
from botdesk.db import stream_events
from botdesk.db.migrate import current_revision, head_revision
from botdesk.db.models import EngineInstance
from botdesk.db.session import Database
from botdesk.db.types import utcnow
from botdesk.engine import commands, leases
from botdesk.engine.feeds import make_feed
from botdesk.engine.feeds.base import Feed
from botdesk.engine.heartbeat import Heartbeat
from botdesk.engine.instance_lock import lock_for
from botdesk.engine.listing import RETRY_SECONDS, FeedListingJob
from botdesk.engine.market import MarketData
from botdesk.engine.market_job import MarketJob
from botdesk.engine.reconcile import dispatch_all, reconcile_all
from botdesk.engine.research.gate import check_loaded
from botdesk.engine.risk import deadman
from botdesk.engine.runner import BotRunner
from botdesk.engine.runtime import EngineRuntime
from botdesk.engine.strategies.loader import load_user_strategies
from botdesk.ml.feature_job import update_champion_markets
from botdesk.settings import Settings

log = logging.getLogger(__name__)

COMMAND_POLL_SECONDS = 0.1
ML_FEATURES_SECONDS = 60  # the feature store of markets with a champion model
MARKET_SECONDS = 0.2
LEASE_RENEW_SECONDS = 2.0
DISPATCH_SECONDS = 0.25
STREAM_PRUNE_SECONDS = 300  # deletes stream events past BOTDESK_STREAM_RETENTION_HOURS


class SchemaOutOfDate(RuntimeError):
    """The database is not migrated to this version's schema."""


def check_schema(db: Database, url: str) -> None:
    current, head = current_revision(db.engine), head_revision(url)
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, this botdesk needs {head}: "
            "run `botdesk db upgrade` (or `botdesk init`) first"
        )


def _register_instance(runtime: EngineRuntime) -> None:
    with runtime.db.writing() as session:
        session.add(
            EngineInstance(
                id=runtime.engine_id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                feed=runtime.settings.FEED,
            )
        )


def _dead_instances(runtime: EngineRuntime) -> list[str] | None:
    """Engines whose commands may be stranded: all others on SQLite (one engine at a time)."""
    with runtime.db.reading() as session:
        others = session.exec(
            select(EngineInstance).where(EngineInstance.id != runtime.engine_id)
        ).all()
    if runtime.db.is_sqlite:
        return [instance.id for instance in others]
    stale_after = runtime.settings.HEARTBEAT_STALE_SECONDS * 3
    now = utcnow()
    return [
        instance.id
        for instance in others
        if instance.stopped_at is not None
        or instance.last_beat is None
        or (now - instance.last_beat).total_seconds() > stale_after
    ]


def _mark_stopped(runtime: EngineRuntime) -> None:
    with runtime.db.writing() as session:
        instance = session.get(EngineInstance, runtime.engine_id)
        if instance is not None:
            instance.stopped_at = utcnow()
            session.add(instance)


def _guarded(name: str, job):
    """A job whose failure is logged and retried next time, never fatal."""

    def run():
        try:
            job()
        except Exception:
            log.exception("%s job failed; retrying on its next run", name)

    return run


def _prune_stream_events(runtime: EngineRuntime) -> None:
    """The stream's change log keeps BOTDESK_STREAM_RETENTION_HOURS of events."""
    with runtime.db.writing() as session:
        deleted = stream_events.prune(
            session=session, keep_hours=runtime.settings.STREAM_RETENTION_HOURS
        )
    if deleted:
        log.info(
            "deleted %d stream events older than %s h",
            deleted,
            runtime.settings.STREAM_RETENTION_HOURS,
        )


def build_scheduler(runtime: EngineRuntime, market_job: MarketJob | None = None):
    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=6)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 10},
    )
    heartbeat = Heartbeat(runtime)
    runtime.heartbeat = heartbeat
    scheduler.add_job(heartbeat.beat, "interval", seconds=1, id="heartbeat", next_run_time=utcnow())
    scheduler.add_job(
        commands.consume,
        "interval",
        args=[runtime],
        seconds=COMMAND_POLL_SECONDS,
        id="commands",
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        _guarded("reconcile", lambda: reconcile_all(runtime)),
        "interval",
        seconds=runtime.settings.RECONCILE_SECONDS,
        id="reconcile",
    )
    scheduler.add_job(
        _guarded("dispatch", lambda: dispatch_all(runtime)),
        "interval",
        seconds=DISPATCH_SECONDS,
        id="dispatch",
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        _guarded("ml_features", lambda: update_champion_markets(runtime.db)),
        "interval",
        seconds=ML_FEATURES_SECONDS,
        id="ml_features",
    )
    scheduler.add_job(
        _guarded("stream-prune", lambda: _prune_stream_events(runtime)),
        "interval",
        seconds=STREAM_PRUNE_SECONDS,
        id="stream-prune",
        next_run_time=utcnow(),
    )
    if market_job is not None:
        scheduler.add_job(
            _guarded("market", market_job.tick),
            "interval",
            seconds=MARKET_SECONDS,
            id="market",
            next_run_time=utcnow(),
        )
    return scheduler


def run(settings: Settings, db: Database) -> None:
    """Run until SIGTERM/SIGINT. Raises EngineAlreadyRunning or SchemaOutOfDate up front."""
    check_schema(db, settings.DATABASE_URL)
    lock = lock_for(settings.DATABASE_URL)
    if lock is not None:
        lock.acquire(settings.DATABASE_URL)
    runtime = EngineRuntime(db=db, settings=settings)
    loaded = load_user_strategies(settings.STRATEGY_PATH)  # failures logged, never fatal
    check_loaded(loaded.loaded)
    feed: Feed | None = None
    keeper: leases.LeaseKeeper | None = None
    try:
        feed = make_feed(settings)  # FeedError: bad replay data, unknown feed
        _register_instance(runtime)
        listing = FeedListingJob(runtime, feed)
        listing.run()  # before the first command: a bot.start checks its symbol against it
        commands.resume_interrupted(runtime, _dead_instances(runtime))
        leases.renew(runtime)
        keeper = leases.LeaseKeeper(runtime, LEASE_RENEW_SECONDS)
        keeper.start()
        reconcile_all(runtime)
        market = MarketData()
        runner = BotRunner(runtime, market, batched=settings.CANDLE_BATCHES)
        market_job = MarketJob(runtime, feed, market, runner)
        market_job.start()
        scheduler = build_scheduler(runtime, market_job)
        scheduler.add_job(
            _guarded("feed listing", listing.run),
            "interval",
            seconds=RETRY_SECONDS,
            id="feed-listing",
        )
        deadman.arm(runtime.heartbeat, settings.DEADMAN_SECONDS)

        stopping: list[threading.Thread] = []

        def shut_down():
            deadline = time.monotonic() + 10
            while not scheduler.running and time.monotonic() < deadline:
                time.sleep(0.01)  # the signal came just before the scheduler started
            # a job that does not finish within 10 s: its stack goes to the log
            faulthandler.dump_traceback_later(10, exit=False)
            scheduler.shutdown(wait=True)  # lets running jobs finish
            faulthandler.cancel_dump_traceback_later()

        def stop(signum, _frame):
            # The handler interrupts the main thread wherever it is, possibly inside the
            # scheduler holding its executor's lock: shutting down from here could wait on
            # that lock forever. Another thread does it once the handler has returned.
            if stopping:  # a second signal (Ctrl-C twice, `timeout`): already stopping
                return
            log.info("received %s, stopping the engine", signal.Signals(signum).name)
            stopping.append(threading.Thread(target=shut_down, name="engine-stop"))
            stopping[0].start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("engine %s started on %s", runtime.engine_id, db.engine.url.render_as_string())
        scheduler.start()  # blocks until shutdown
        log.info("engine %s stopping", runtime.engine_id)
        for thread in stopping:
            thread.join()
    finally:
        if keeper is not None:
            keeper.stop()
        deadman.disarm()
        if feed is not None:
            feed.stop()
        _mark_stopped(runtime)
        if lock is not None:
            lock.release()
        log.info("engine %s stopped", runtime.engine_id)
