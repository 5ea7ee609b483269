"""`botdesk watchdog`: the small process that watches the engine and delivers alerts.

It runs apart from the engine, so a dead engine is still announced. Jobs: the sender
(every NOTIFY_POLL_SECONDS), the heartbeat watch (1 s), risk refusals aggregated (30 s),
the daily summary (each minute: due from 00:00 UTC), old log lines and idempotency keys
removed (hourly, alerts/retention.py) and, with BOTDESK_BACKUP_INTERVAL_HOURS, scheduled
backups. SIGTERM or SIGINT stops it after the running jobs finish; a kill -9 loses
nothing (see alerts/sender.py).
"""

import logging
import signal
import threading
import time
from datetime import UTC

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from botdesk.alerts import daily_summary, heartbeat_watch, retention
from botdesk.alerts.refusals import RefusalDigest
from botdesk.alerts.sender import Sender
from botdesk.db.session import Database
from botdesk.db.types import utcnow
from botdesk.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_WATCH_SECONDS = 1.0
REFUSALS_SECONDS = 30
SUMMARY_SECONDS = 60
RETENTION_SECONDS = 3600


def _guarded(name: str, job):
    def run():
        try:
            job()
        except Exception:
            log.exception("watchdog %s job failed; retrying on its next run", name)

    return run


def _in_transaction(db: Database, job):
    def run():
        with db.writing() as session:
            job(session)

    return run


def build_scheduler(settings: Settings, db: Database) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    sender = Sender(db, settings)
    digest = RefusalDigest(settings.NOTIFY_REFUSAL_WINDOW_MINUTES)
    jobs = {
        "sender": (sender.run_once, settings.NOTIFY_POLL_SECONDS),
        "heartbeat": (
            _in_transaction(
                db,
                lambda session: heartbeat_watch.check(
                    session, stale_seconds=settings.HEARTBEAT_STALE_SECONDS
                ),
            ),
            HEARTBEAT_WATCH_SECONDS,
        ),
        "refusals": (_in_transaction(db, digest.run), REFUSALS_SECONDS),
        "daily-summary": (_in_transaction(db, daily_summary.run), SUMMARY_SECONDS),
        "retention": (
            _in_transaction(db, lambda session: retention.run(session, settings)),
            RETENTION_SECONDS,
        ),
    }
    if settings.BACKUP_INTERVAL_HOURS > 0:
        from botdesk.alerts.backups import scheduled_backup

        jobs["backup"] = (
            lambda: scheduled_backup(settings, db),
            settings.BACKUP_INTERVAL_HOURS * 3600,
        )
    for name, (job, seconds) in jobs.items():
        first = utcnow() if name != "backup" else None
        scheduler.add_job(
            _guarded(name, job), "interval", seconds=seconds, id=name, next_run_time=first
        )
    return scheduler


def run(settings: Settings, db: Database) -> None:
    """Run until SIGTERM/SIGINT."""
    scheduler = build_scheduler(settings, db)
    stopping: list[threading.Thread] = []

    def stop(signum, _frame):
        if stopping:
            return
        log.info("received %s, stopping the watchdog", signal.Signals(signum).name)
        stopping.append(threading.Thread(target=shut_down, name="watchdog-stop"))
        stopping[0].start()

    def shut_down():
        deadline = time.monotonic() + 10
        while not scheduler.running and time.monotonic() < deadline:
            time.sleep(0.01)  # the signal came just before the scheduler started
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("watchdog started on %s", db.engine.url.render_as_string())
    scheduler.start()
    for thread in stopping:
        thread.join()
    log.info("watchdog stopped")
