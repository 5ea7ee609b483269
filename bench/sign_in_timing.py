"""How long the password step takes to refuse, by what is behind the name: a name nobody
has, a real account with a wrong password, a locked account (wrong or right password).
The answers are alike (tests/app/test_lockout.py); this says whether the time tells.

A real `botdesk web` on a new SQLite file (or --database-url), round trips from this
process, interleaved so that a change of machine load hits every kind alike.

    .venv/bin/python bench/sign_in_timing.py [--attempts 15]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.models import User  # noqa: E402
from tests.desk import RunningDesk, password_step  # noqa: E402
from tests.factories import PASSWORD, make_user  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--attempts", type=int, default=15)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="botdesk-sign-in-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    desk = RunningDesk(url, folder / "desk", BOTDESK_LOGIN_RATE_LIMIT_USER="10000/minute")
    try:
        make_user(desk.db, username="real")
        make_user(desk.db, username="locked")
        for _ in range(5):
            password_step(desk.base, "locked", "wrong password")
        kinds = {
            "unknown name": ("nobody", "wrong password"),
            "real, wrong password": ("real", "wrong password"),
            "locked, wrong password": ("locked", "wrong password"),
            "locked, right password": ("locked", PASSWORD),
        }
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        statuses: dict[str, set[int]] = {kind: set() for kind in kinds}
        for number in range(args.attempts):
            for kind, (username, password) in kinds.items():
                if kind == "real, wrong password" and number % 4 == 3:
                    make_user_unlocked(desk, username)
                started = time.perf_counter()
                response = password_step(desk.base, username, password)[1]
                times[kind].append((time.perf_counter() - started) * 1000)
                statuses[kind].add(response.status_code)
        print(f"load {os.getloadavg()[0]:.2f}; {args.attempts} attempts each, round trip in ms")
        for kind, samples in times.items():
            print(
                f"  {kind:24s} median {statistics.median(samples):6.1f}  "
                f"min {min(samples):6.1f}  status {sorted(statuses[kind])}"
            )
    finally:
        desk.stop()


def make_user_unlocked(desk: RunningDesk, username: str) -> None:
    """Keep the 'real' account below the lock (a full sign-in would reset it too)."""
    with desk.db.writing() as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.failed_attempts, user.locked_until = 0, None
        session.add(user)


if __name__ == "__main__":
    main()
