"""The engine as a user runs it: real `botdesk engine` processes, paper bots, a replay fast
enough that the engine is the bottleneck; bot-candles advanced per second read from the
bots' cursors.

`--one` (default): 200 bots (five strategies over BTCUSDT, ETHUSDT and SOLUSDT, the
desk's default risk limits) on SQLite and, with `--postgres`, on PostgreSQL; the batched
path (`BOTDESK_CANDLE_BATCHES=true`) beside the per-bot path, one after the other on
fresh databases, each measured over `--seconds` once every bot trades.

`--two`: PostgreSQL, 1,000 bots. One engine alone, then a second one joins and they split
the bots by lease; the throughput of each phase is printed. Then one engine is killed with
SIGKILL in the middle of its candles, the other takes its bots over, and afterwards every
bot's equity snapshots are checked: one per 1m candle from its first to its last, none
missing, none twice, the last at the bot's cursor. The whole run stays within `--budget`
seconds: a wait that would outlast it says what it waited for, and the run goes on to
the check with what it measured (on a loaded machine a pass over 1,000 bots can take a
minute).

    .venv/bin/python bench/engine_process.py [--one] [--two] [--bots 200] [--seconds 30]
        [--budget 900]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MINUTE_MS = 60_000


def cursors(db) -> dict[int, int]:
    from sqlmodel import select

    from botdesk.db.models import Bot

    with db.reading() as session:
        return {bot_id: ms or 0 for bot_id, ms in session.exec(select(Bot.id, Bot.last_candle_ms))}


def trading(db) -> set[int]:
    """Bots running or paused (not halted by the circuit breaker, not in error)."""
    from sqlmodel import col, select

    from botdesk.db.models import Bot

    with db.reading() as session:
        return set(
            session.exec(select(Bot.id).where(col(Bot.status).in_(("running", "paused")))).all()
        )


def owners(db) -> dict[int, str | None]:
    from sqlmodel import select

    from botdesk.db.models import Bot

    with db.reading() as session:
        return dict(session.exec(select(Bot.id, Bot.lease_owner)).all())


def wait(check, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {what}")


def seed(url: str, bots: int) -> None:
    from bench.tick_cost import SYMBOLS, strategy_for
    from botdesk.db import risk_limits
    from botdesk.db.migrate import upgrade
    from botdesk.db.models import Bot
    from botdesk.db.session import Database

    upgrade(url)
    db = Database(url)
    with db.writing() as session:
        risk_limits.seed_defaults(session=session)
        for number in range(bots):
            name, params = strategy_for(number)
            session.add(
                Bot(
                    name=f"bench-{number}",
                    strategy=name,
                    symbol=SYMBOLS[number % 3],
                    params=json.dumps(params),
                    desired_state="running",
                    status="running",
                )
            )
    db.dispose()


def engine(url: str, folder: Path, name: str, **settings: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTDESK_")}
    env.update(
        BOTDESK_DATABASE_URL=url,
        BOTDESK_VAR_DIR=str(folder / "var"),
        BOTDESK_REPLAY_SPEED="30000",  # 500 candles a second: the engine is the bottleneck
        BOTDESK_LOG_LEVEL="WARNING",
        **settings,
    )
    log = open(folder / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-m", "botdesk", "engine"], env=env, cwd=folder, stderr=log
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def warmed(db, count: int) -> None:
    """Wait until the engines have processed a candle per bot (the first pass reads every
    bot's state from the database, later ones keep it)."""
    at = cursors(db)
    wait(lambda: sum(cursors(db)[b] - at[b] for b in at) >= count * MINUTE_MS, 900, "a warm-up")


def rate(db, seconds: float) -> tuple[float, int]:
    """Bot-candles advanced per second over `seconds`, and how many."""
    before, started = cursors(db), time.monotonic()
    time.sleep(seconds)
    after, spent = cursors(db), time.monotonic() - started
    advanced = sum((after[b] - before[b]) // MINUTE_MS for b in before if before[b])
    return max(advanced, 1) / spent, advanced


def fresh_url(kind: str, postgres: str | None, folder: Path):
    if kind == "sqlite":
        return f"sqlite:///{folder / 'botdesk.db'}", lambda: None
    from bench.engine_batch import fresh_database

    return fresh_database("postgresql", postgres)


def one_engine(kind: str, postgres: str | None, bots: int, seconds: float, batched: bool):
    from botdesk.db.session import Database

    folder = Path(tempfile.mkdtemp(prefix="botdesk-bench-"))
    url, drop = fresh_url(kind, postgres, folder)
    seed(url, bots)
    db = Database(url)
    process = engine(url, folder, "engine", BOTDESK_CANDLE_BATCHES=str(batched).lower())
    try:
        wait(lambda: all(cursors(db).values()), 180, "every bot trading")
        warmed(db, bots)
        per_second, advanced = rate(db, seconds)
    finally:
        stop(process)
        db.dispose()
        drop()
    return per_second, advanced


class Budget:
    """The --two run's time budget: every wait is bounded by what is left of it, and a
    wait that runs out says what it was waiting for and lets the run go on to the check."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.missed: list[str] = []

    def left(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    def wait(self, check, timeout: float, what: str, interval: float = 0.5):
        deadline = time.monotonic() + min(timeout, self.left())
        while True:
            answer = check()
            if answer:
                return answer
            if time.monotonic() >= deadline:
                self.missed.append(what)
                print(f"  (timed out waiting for {what}; going on with what was measured)")
                return None
            time.sleep(interval)

    def rate(self, db, seconds: float) -> tuple[float, int, float]:
        """`rate` over at most what is left of the budget; (per second, advanced, seconds)."""
        seconds = max(min(seconds, self.left()), 1.0)
        per_second, advanced = rate(db, seconds)
        return per_second, advanced, seconds


def two_engines(postgres: str, bots: int, seconds: float, budget: float) -> None:
    from botdesk.db.session import Database

    folder = Path(tempfile.mkdtemp(prefix="botdesk-bench-"))
    url, drop = fresh_url("postgresql", postgres, folder)
    try:
        seed(url, bots)
        db = Database(url)
        limits = Budget(budget)
        takeover(db, url, folder, bots, seconds, limits)
        check_candles(db)
        if limits.missed:
            print(f"  within the {budget:.0f} s budget, not reached: {'; '.join(limits.missed)}")
        db.dispose()
    finally:
        drop()


def _line(label: str, per_second: float, advanced: int, seconds: float, extra: str = "") -> str:
    ms = f"{1000 / per_second:.3f} ms per bot-candle" if advanced else "no bot-candle"
    return (
        f"{label:<12} {per_second:8.1f} bot-candles/s ({advanced} in {seconds:.0f} s), {ms}"
        f"{extra}, load avg {os.getloadavg()[0]:.2f}"
    )


def takeover(db, url: str, folder: Path, bots: int, seconds: float, budget: Budget) -> None:
    first = engine(url, folder, "first")
    second = None
    try:
        budget.wait(lambda: all(cursors(db).values()), 600, "every bot trading under one engine")
        at = cursors(db)
        budget.wait(  # the first pass reads every bot's state; later ones keep it
            lambda: sum(cursors(db)[b] - at[b] for b in at) >= bots * MINUTE_MS,
            600,
            "a warm-up candle per bot",
        )
        one, advanced_one, spent = budget.rate(db, seconds)
        print(_line("one engine:", one, advanced_one, spent))
        sys.stdout.flush()
        second = engine(url, folder, "second")

        def split():
            held = list(owners(db).values())
            engines = {owner for owner in held if owner}
            return len(engines) == 2 and None not in held and engines

        budget.wait(split, 300, "two engines sharing the bots")
        two, advanced_two, spent = budget.rate(db, seconds)
        held = list(owners(db).values())
        shares = sorted(held.count(e) for e in set(held) if e)
        print(_line("two engines:", two, advanced_two, spent, f", bots per engine {shares}"))
        sys.stdout.flush()
        # kill one in the middle of its candles: wait until its bots' cursors are moving
        at = cursors(db)
        budget.wait(
            lambda: sum(cursors(db)[b] - at[b] for b in at) >= 50 * MINUTE_MS,
            300,
            "candles being processed",
            interval=0.05,
        )
        first.kill()  # SIGKILL
        first.wait()
        at_kill = cursors(db)
        started = time.monotonic()
        survivor = budget.wait(
            lambda: len({o for o in owners(db).values()}) == 1 and None not in owners(db).values(),
            300,
            "the survivor leasing every bot",
        )
        taken_over = time.monotonic() - started
        resumed = budget.wait(
            lambda: all(cursors(db)[b] >= at_kill[b] + MINUTE_MS for b in trading(db)),
            600,
            "every bot trading again",
        )
        after, advanced_after, spent = budget.rate(db, seconds) if resumed else (0.0, 0, 0.0)
        if survivor:
            print(
                f"engine killed (SIGKILL) mid-candle: the survivor held all {bots} bots "
                f"{taken_over:.1f} s later ({survivor})"
            )
        if resumed:
            print(_line("survivor:", after, advanced_after, spent))
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)


def check_candles(db) -> None:
    """Every bot's snapshots step one 1m candle at a time (none skipped, none twice) and
    end at its cursor (nothing processed without its cursor moving, nor the reverse)."""
    from sqlmodel import col, select

    from botdesk.db.models import EquitySnapshot

    problems, checked = 0, 0
    with db.reading() as session:
        rows = session.exec(
            select(EquitySnapshot.bot_id, EquitySnapshot.candle_open_ms).order_by(
                col(EquitySnapshot.bot_id), col(EquitySnapshot.candle_open_ms)
            )
        ).all()
    at = cursors(db)
    by_bot: dict[int, list[int]] = {}
    for bot_id, open_ms in rows:
        by_bot.setdefault(bot_id, []).append(open_ms)
    for bot_id, times in by_bot.items():
        checked += len(times)
        steps = {b - a for a, b in itertools.pairwise(times)}
        if steps - {MINUTE_MS}:
            problems += 1
            print(f"  bot {bot_id}: candles skipped or doubled (steps {sorted(steps)[:5]})")
        elif times[-1] != at.get(bot_id):
            problems += 1
            print(f"  bot {bot_id}: last snapshot {times[-1]}, cursor {at.get(bot_id)}")
    print(
        f"checked {checked} bot-candles of {len(by_bot)} bots against their cursors: "
        f"{'none lost, none doubled' if not problems else f'{problems} bots wrong'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", action="store_true")
    parser.add_argument("--two", action="store_true")
    parser.add_argument("--bots", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--budget", type=float, default=900, help="--two: most seconds the whole run may take"
    )
    parser.add_argument("--postgres", default=os.environ.get("BOTDESK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.one and not args.two:
        args.one = True
    if args.one:
        bots = args.bots or 200
        print(f"one `botdesk engine`, {bots} paper bots, replay at 30000x, {args.seconds:.0f} s")
        for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
            for batched in (False, True):
                per_second, advanced = one_engine(kind, args.postgres, bots, args.seconds, batched)
                print(
                    f"  {kind:<11}{'batched' if batched else 'per-bot':<9}"
                    f"{per_second:8.0f} bot-candles/s ({advanced:6d}), "
                    f"{1000 / max(per_second, 1e-9):7.3f} ms per bot-candle, "
                    f"load avg {os.getloadavg()[0]:.2f}"
                )
                sys.stdout.flush()
    if args.two:
        if not args.postgres:
            raise SystemExit("--two needs PostgreSQL (--postgres or BOTDESK_TEST_POSTGRES_URL)")
        bots = args.bots or 1000
        print(
            f"two `botdesk engine`s on PostgreSQL, {bots} paper bots, {args.seconds:.0f} s "
            f"each, within {args.budget:.0f} s"
        )
        two_engines(args.postgres, bots, args.seconds, args.budget)
    print(f"({os.cpu_count()} CPUs, PostgreSQL on the same machine)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
