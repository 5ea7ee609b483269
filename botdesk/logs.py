"""Logging for every process: one line per event, UTC timestamps, the process's role;
warnings and errors also go to the database (the desk's Logs page), in batches written by
a thread of their own, never inside the caller's transaction."""

import logging
import queue
import socket
import threading
import time
from datetime import UTC, datetime

from botdesk.redaction import redact
from botdesk.settings import get_settings


def configure_logging(role: str, *, to_database: bool = True) -> None:
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
    if to_database:
        keeper = DatabaseLogHandler(role)
        keeper.addFilter(RedactSecrets())
        root.addHandler(keeper)
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


class DatabaseLogHandler(logging.Handler):
    """Keeps WARNING and above in the log_entry table. Records queue in memory and a
    daemon thread writes them every half second; a full queue drops the newest (the
    console line is still written) rather than slow the process down."""

    FLUSH_SECONDS = 0.5
    QUEUE_SIZE = 10_000

    def __init__(self, process: str, database=None, *, background: bool = True):
        super().__init__(level=logging.WARNING)
        self.process = process
        self.host = socket.gethostname()[:255]
        self._database = database
        self._queue: queue.Queue = queue.Queue(self.QUEUE_SIZE)
        self._thread = threading.Thread(target=self._write_loop, name="log-keeper", daemon=True)
        if background:  # tests write with flush_now() themselves
            self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread() is self._thread:
            return  # the keeper's own troubles go to the console only
        try:
            message = record.getMessage()
            if record.exc_text:
                message = f"{message}\n{record.exc_text}"
            self._queue.put_nowait(
                {
                    "at": datetime.fromtimestamp(record.created, UTC),
                    "process": self.process,
                    "level": record.levelname[:16],
                    "logger": record.name[:100],
                    "bot_id": getattr(record, "bot_id", None),
                    "host": self.host,
                    "message": message[:20_000],
                }
            )
        except queue.Full:
            pass  # the console has the line; the database catches up with the next ones

    def _database_now(self):
        if self._database is None:
            from botdesk.db.session import get_database

            self._database = get_database()
        return self._database

    def flush_now(self) -> int:
        rows = []
        while True:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if rows:
            from botdesk.db import log_entries

            with self._database_now().writing() as session:
                log_entries.write(session=session, rows=rows)
        return len(rows)

    def flush(self) -> None:
        """At exit (logging.shutdown): write what is still queued, if the database lets."""
        try:
            self.flush_now()
        except Exception:  # exiting: the console has every line
            return

    def _write_loop(self) -> None:
        while True:
            time.sleep(self.FLUSH_SECONDS)
            try:
                self.flush_now()
            except Exception:  # the database is away: the lines stay on the console
                logging.getLogger(__name__).exception("log lines could not be kept")
