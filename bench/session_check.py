"""What the server-side session check costs per request (the pages poll every few seconds).

Times, in one process on one database, the desk's per-request lookup of the cookie's
session (desk_session joined with user, by the token's SHA-256) beside the lookup it
replaced (the user by primary key, which the signed cookie alone needed), with many
sessions in the table, and a whole background poll through the desk (the login wall, the
role gate and the shell's status callback) to put both in proportion.

    .venv/bin/python bench/session_check.py [--database-url URL] [--sessions 50000]
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

from botdesk.app.factory import create_app  # noqa: E402
from botdesk.db import desk_sessions  # noqa: E402
from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.models import User  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from botdesk.settings import Settings  # noqa: E402
from tests.desk import KILL_MARKER, SHELL_POLL, dash_body  # noqa: E402
from tests.factories import make_user  # noqa: E402
from tests.keys import TEST_DATA_KEY, TEST_SECRET_KEY  # noqa: E402

POLL = [{"id": "shell-tick", "property": "n_intervals", "value": 7}]


def timed(call, repeat: int) -> tuple[float, float]:
    """Median and p95 in microseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--sessions", type=int, default=50_000, help="rows in desk_session")
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="botdesk-session-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    user = make_user(db, role="viewer", username=f"bench{os.getpid()}")
    with db.writing() as session:
        for _ in range(args.sessions - 1):
            desk_sessions.start(session=session, user_id=user.id, ip="127.0.0.1", user_agent="b")
        token = desk_sessions.start(session=session, user_id=user.id, ip=None, user_agent=None)

    def session_lookup():
        with db.reading_rows() as connection:
            desk_sessions.open_session(connection=connection, token=token)

    def user_by_key():
        with db.reading() as session:
            session.get(User, user.id)

    settings = Settings(
        DATABASE_URL=url,
        SECRET_KEY=TEST_SECRET_KEY,
        DATA_KEY=TEST_DATA_KEY,
        VAR_DIR=folder / "var",
        REQUIRE_2FA=False,
    )
    client = create_app(settings, db).server.test_client()
    with client.session_transaction() as cookie:
        now = time.time()
        cookie.update(_user_id=str(user.id), _fresh=True, sid=token, login_at=now, seen_at=now)
    body = dash_body(SHELL_POLL, POLL, state=KILL_MARKER)

    def poll():
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200, response.status_code

    poll()  # Dash sets itself up on the first request
    figures = {
        "session lookup (now, per request)": timed(session_lookup, args.repeat),
        "user by primary key (before)": timed(user_by_key, args.repeat),
        "whole background poll": timed(poll, max(args.repeat // 10, 50)),
    }
    backend = "PostgreSQL" if db.engine.dialect.name == "postgresql" else "SQLite"
    print(f"{backend}, {args.sessions:,} rows in desk_session, load {os.getloadavg()[0]:.2f}")
    for name, (median, p95) in figures.items():
        print(f"  {name:36s} median {median:8.0f} us   p95 {p95:8.0f} us")
    db.dispose()


if __name__ == "__main__":
    main()
