"""`botdesk run` (the quick start) stops cleanly on Ctrl-C: a real run with its engine and
both gunicorn workers, a terminal's SIGINT to the whole process group, and connections a
browser keeps open without sending anything yet (Chromium opens spare ones ahead of need)."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from botdesk.cli.processes import PAGE_THREADS
from botdesk.settings import Settings
from tests.processes import free_port, run_cli, wait_until

pytestmark = pytest.mark.integration
# more than the two workers' threads take at once (4 for pages + one per stream slot)
IDLE_CONNECTIONS = 2 * (PAGE_THREADS + Settings().STREAM_MAX_CLIENTS) + 8


def group_members(group: int) -> list[str]:
    listing = subprocess.run(["ps", "-g", str(group), "-o", "pid=,args="], capture_output=True)
    return [line for line in listing.stdout.decode().splitlines() if line.strip()]


def test_ctrl_c_stops_the_engine_and_the_desk_without_killing_a_worker(fresh_env, tmp_path):
    port = free_port()
    env = {**fresh_env, "BOTDESK_PORT": str(port), "BOTDESK_WEB_WORKERS": "2"}
    assert run_cli(["init", "--no-demo"], env).returncode == 0
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "botdesk", "run"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, as a terminal's foreground job
        )
    base = f"http://127.0.0.1:{port}"
    idle = []
    try:
        wait_until(
            lambda: requests.get(f"{base}/login", timeout=2).status_code == 200,
            timeout=60,
            message="the desk",
        )
        wait_until(lambda: "engine" in log_path.read_text(), timeout=60, message="the engine")
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(IDLE_CONNECTIONS)]
        time.sleep(0.5)  # accepted and handed to the workers' threads

        started = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        run.wait(timeout=60)  # a liveness bound, not a speed goal
        print(f"botdesk run stopped {time.monotonic() - started:.2f} s after Ctrl-C")
        wait_until(lambda: group_members(run.pid) == [], timeout=30, message="every process gone")
    finally:
        for connection in idle:
            connection.close()
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    output = log_path.read_text()
    assert "SIGKILL" not in output and "Perhaps out of memory" not in output, output[-2000:]
    assert "engine INFO botdesk.engine.process: engine" in output and "stopped" in output
    assert output.rstrip().endswith("botdesk stopped")
