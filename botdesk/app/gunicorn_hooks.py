"""gunicorn server hooks for the desk (`--config python:botdesk.app.gunicorn_hooks`).

A stopping gthread worker ends its own loop in time, but the interpreter then waits for
every thread of its pool, and a thread that was handed a connection on which nothing has
been sent yet (browsers open spare connections ahead of need) waits up to 5 s for the
first byte, queued ones one after another. Ctrl-C then took ~10 s and the master
SIGKILLed the workers ("Perhaps out of memory?"). Once a worker has finished what it
will finish, it leaves at once instead.
"""

import logging
import os
import sys


def _leave_now() -> None:
    logging.shutdown()  # flush the log handlers first
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


def worker_int(worker) -> None:
    """SIGINT or SIGQUIT (Ctrl-C, `botdesk run` stopping): gunicorn's quick shutdown."""
    worker.log.info("Worker stopping now (pid: %s)", worker.pid)
    _leave_now()


def worker_exit(server, worker) -> None:
    """After a graceful stop (SIGTERM) has answered the requests in flight, or its
    graceful timeout has passed: nothing is left to wait for."""
    _leave_now()
