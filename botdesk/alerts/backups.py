"""Scheduled backups (BOTDESK_BACKUP_INTERVAL_HOURS): the watchdog takes one into
BOTDESK_BACKUP_DIR, keeps the newest BOTDESK_BACKUP_KEEP, and announces a failure."""

import logging

from sqlalchemy.engine import make_url

from botdesk.db import backup, notification_events, notifications
from botdesk.db.session import Database
from botdesk.db.types import utcnow
from botdesk.settings import Settings

log = logging.getLogger(__name__)


def scheduled_backup(settings: Settings, db: Database) -> None:
    folder = settings.backup_dir
    try:
        written = backup.backup(db.url, backup.default_file(folder, db.url))
    except Exception as error:
        log.exception("scheduled backup failed")
        with db.writing() as session:
            notifications.emit(
                session, notification_events.backup_failed(error=str(error), at=utcnow())
            )
        return
    suffix = "db" if make_url(db.url).get_backend_name() == "sqlite" else "dump"
    removed = backup.prune(folder, settings.BACKUP_KEEP, suffix)
    log.info("backup written to %s; %d older removed", written, len(removed))
