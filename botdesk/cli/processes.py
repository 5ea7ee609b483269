"""`botdesk engine`, `botdesk web`, `botdesk watchdog` and `botdesk run` (all three, for one
machine)."""

import os
import signal
import subprocess
import sys
import time

import click

from botdesk.cli.common import database, settings
from botdesk.logs import configure_logging


@click.command()
def engine() -> None:
    """Run the trading engine (APScheduler) until SIGTERM or Ctrl-C."""
    from botdesk.engine.feeds.base import FeedError
    from botdesk.engine.instance_lock import EngineAlreadyRunning
    from botdesk.engine.process import SchemaOutOfDate, run

    configure_logging("engine")
    try:
        run(settings(), database())
    except (EngineAlreadyRunning, SchemaOutOfDate, FeedError) as refusal:
        raise click.ClickException(str(refusal)) from None


@click.command()
def watchdog() -> None:
    """Watch the engine's heartbeat and deliver alerts until SIGTERM or Ctrl-C.

    Announces a stale engine heartbeat and its recovery, sends every notification to its
    channels (with retries), the daily summary at 00:00 UTC and aggregated risk refusals.
    """
    from botdesk.alerts.watchdog import run as run_watchdog

    configure_logging("watchdog")
    run_watchdog(settings(), database())


# gthread threads that serve pages and API calls; each open /api/v1/stream holds one more
PAGE_THREADS = 4
KEEP_ALIVE_SECONDS = 75


def gunicorn_argv(host: str, port: int, workers: int, streams: int) -> list[str]:
    """gthread: each open stream holds a thread for its life, so every worker gets one
    thread per stream it may hold (STREAM_MAX_CLIENTS) on top of PAGE_THREADS; streams
    beyond that are refused (503) and never take the threads that serve the desk."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "botdesk.app.wsgi:server",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(PAGE_THREADS + streams),
        "--timeout",
        "60",
        # an idle connection stays open longer than a browser waits between polls and a
        # load balancer keeps its idle ones (60 s for most): closed at 2 s, gunicorn's
        # default, a request sent on it as it closed was dropped
        "--keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--no-control-socket",
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
        "--access-logformat",
        '%(t)s web access %(h)s "%(r)s" %(s)s %(b)s %(M)sms',
        "--logger-class",
        "botdesk.app.access_log.RedactingLogger",
        "--config",
        "python:botdesk.app.gunicorn_hooks",
    ]


@click.command()
@click.option("--host", default=None, help="Listen address (default: BOTDESK_HOST).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Listen port (default: BOTDESK_PORT).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="gunicorn workers (default: BOTDESK_WEB_WORKERS).",
)
def web(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the desk with gunicorn until SIGTERM or Ctrl-C."""
    config = settings()
    argv = gunicorn_argv(
        host or config.HOST,
        port or config.PORT,
        workers or config.WEB_WORKERS,
        config.STREAM_MAX_CLIENTS,
    )
    os.execv(sys.executable, argv)


@click.command()
def run() -> None:
    """Start the engine, the desk and the watchdog together; Ctrl-C stops them at once,
    SIGTERM gracefully."""
    config = settings()
    children = {
        "engine": subprocess.Popen([sys.executable, "-m", "botdesk", "engine"]),
        "web": subprocess.Popen([sys.executable, "-m", "botdesk", "web"]),
        "watchdog": subprocess.Popen([sys.executable, "-m", "botdesk", "watchdog"]),
    }
    click.echo(f"botdesk running: desk at http://{config.HOST}:{config.PORT} (Ctrl-C stops)")
    # The signal that stops `run` is passed on as it came: Ctrl-C (SIGINT) is gunicorn's
    # quick shutdown, SIGTERM its graceful one (requests in flight are answered first).
    received: signal.Signals | None = None

    def stop(signum, _frame=None):
        nonlocal received
        received = received or signal.Signals(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    exit_code = 0
    try:
        while received is None:
            for name, child in children.items():
                if child.poll() is not None and received is None:
                    click.echo(f"{name} exited with code {child.returncode}; stopping", err=True)
                    exit_code = child.returncode or 1
                    received = signal.SIGTERM
            time.sleep(0.05)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(received or signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    click.echo("botdesk stopped")
    sys.exit(exit_code)
