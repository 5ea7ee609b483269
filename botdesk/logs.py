"""Logging for both processes: one line per event, UTC timestamps, the process's role."""

import logging
import time

from botdesk.redaction import redact
from botdesk.settings import get_settings


def configure_logging(role: str) -> None:
    formatter = logging.Formatter(
        f"%(asctime)s.%(msecs)03dZ {role} %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(get_settings().LOG_LEVEL)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").addFilter(_busy_job_skips)


def _busy_job_skips(record: logging.LogRecord) -> bool:
    """Drop APScheduler's "skipped: maximum number of running instances reached": a
    frequent job (the market tick) still busy with the previous run is the normal case,
    and the next run picks up whatever is waiting."""
    return "maximum number of running instances" not in record.getMessage()


class RedactSecrets(logging.Filter):
    """Replaces API keys, webhook tokens and secret query parameters in a record's message
    (and its traceback) before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
