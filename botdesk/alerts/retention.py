"""The watchdog's hourly housekeeping: log lines older than BOTDESK_LOG_RETENTION_DAYS (or
past BOTDESK_LOG_RETENTION_ROWS) and API idempotency keys older than
BOTDESK_IDEMPOTENCY_KEY_HOURS are removed."""

import logging
from datetime import datetime

from sqlmodel import Session

from botdesk.db import idempotency, log_entries
from botdesk.settings import Settings

log = logging.getLogger(__name__)


def run(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Remove what is past its retention; returns how many rows of each kind went."""
    removed = {
        "log lines": log_entries.prune(
            session=session,
            days=settings.LOG_RETENTION_DAYS,
            keep_rows=settings.LOG_RETENTION_ROWS,
            now=now,
        ),
        "idempotency keys": idempotency.prune(
            session=session, keep_hours=settings.IDEMPOTENCY_KEY_HOURS, now=now
        ),
    }
    if any(removed.values()):
        log.info("retention removed %s", ", ".join(f"{n} {what}" for what, n in removed.items()))
    return removed
