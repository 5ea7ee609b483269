"""Logging for both processes: one line per event, UTC timestamps, the process's role."""

import logging
import time

from botdesk.settings import get_settings


def configure_logging(role: str) -> None:
    formatter = logging.Formatter(
        f"%(asctime)s.%(msecs)03dZ {role} %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
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
