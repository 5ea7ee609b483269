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
import signal
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


def post_worker_init(worker) -> None:
    """SIGTERM (a graceful stop) first ends this worker's /api/v1/stream responses, each
    with a `closing` event: they would otherwise hold the stop for its whole graceful
    timeout, since a stream never finishes by itself."""
    graceful = signal.getsignal(signal.SIGTERM)

    def end_streams_then_stop(signum, frame):
        from botdesk.app.stream import hub

        hub.stop_all()
        graceful(signum, frame)

    signal.signal(signal.SIGTERM, end_streams_then_stop)
    signal.siginterrupt(signal.SIGTERM, False)
