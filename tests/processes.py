"""Real botdesk processes on loopback for integration tests, and waiting helpers."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    check: Callable[[], object],
    timeout: float = 20.0,
    interval: float = 0.05,
    message: str = "condition",
):
    """Poll `check` until it returns something truthy; its value is returned."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as error:  # the process may still be starting
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}: {last_error!r}")


class BotdeskProcess:
    """`python -m botdesk <args>` with the test's environment, output captured to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "botdesk", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=_workdir(env),
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill_hard(self) -> None:
        """kill -9 the whole process group: no cleanup runs."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


def _workdir(env: dict[str, str]) -> str:
    """Run in the test's folder so a developer's .env in the checkout is never read."""
    workdir = Path(env["BOTDESK_VAR_DIR"]).parent
    workdir.mkdir(parents=True, exist_ok=True)
    return str(workdir)


def run_cli(
    args: list[str], env: dict[str, str], input_text: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "botdesk", *args],
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=_workdir(env),
    )


def start_web(env: dict[str, str], log_path: Path, workers: int = 1) -> tuple[BotdeskProcess, str]:
    port = free_port()
    web = BotdeskProcess(["web", "--port", str(port), "--workers", str(workers)], env, log_path)
    base = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: requests.get(f"{base}/login", timeout=2).status_code == 200,
        timeout=60,
        message=f"desk on {base}\n{log_path}",
    )
    return web, base
