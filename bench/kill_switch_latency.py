"""Kill-switch latency: from the commit of the engage command to all bots halted, and to
all open orders cancelled, with 200 running bots and a real engine process.

Each round: buy orders are left resting for a quarter of the bots (webhook signals and
their signal.execute commands; a slow replay so they do not fill); once half of them rest
(the rest of those commands still queued, so the engage has to jump the queue), the switch
is engaged as the desk does it (latch and command in one transaction), and the database
is polled every 2 ms until every bot is halted and no order is open. Then the switch is
released and the bots are set running again directly in the database (a harness
shortcut; the desk would issue bot.start commands).

    .venv/bin/python bench/kill_switch_latency.py [--rounds 20] [--bots 200] [--database-url URL]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col, func, select

from botdesk.db import commands as command_queue
from botdesk.db import kill_switch
from botdesk.db.migrate import upgrade
from botdesk.db.models import OPEN_ORDER_STATUSES, Bot, Command, Order, Role, Signal
from botdesk.db.session import Database

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def count(db, query) -> int:
    with db.reading() as session:
        return session.exec(query).one()


def wait(check, timeout=120.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise SystemExit("timed out waiting for the engine")


def resting_orders(db, bots: list[int], round_number: int, idle: bool) -> None:
    with db.writing() as session:
        for bot_id in bots:
            signal = Signal(
                bot_id=bot_id,
                dedupe_key=f"tv:bench-{round_number}-{bot_id}",
                source="webhook",
                symbol=SYMBOLS[bot_id % 3],
                timeframe="1m",
                side="buy",
            )
            session.add(signal)
            session.flush()
            command_queue.issue(
                session=session,
                kind="signal.execute",
                issued_by="bench",
                target=f"signal:{signal.id}",
            )
    open_orders = (
        select(func.count()).select_from(Order).where(col(Order.status).in_(OPEN_ORDER_STATUSES))
    )
    wait(lambda: count(db, open_orders) >= len(bots) // 2, timeout=60, interval=0.05)
    if idle:  # the engage then meets an idle command consumer, between two polls
        queued = (
            select(func.count())
            .select_from(Command)
            .where(col(Command.status).in_(("pending", "running")))
        )
        wait(lambda: count(db, queued) == 0, timeout=120, interval=0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument(
        "--idle", action="store_true", help="engage only once the command queue is empty"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="botdesk-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'botdesk.db'}"
    upgrade(url)
    db = Database(url)
    with db.writing() as session:
        for number in range(args.bots):
            session.add(
                Bot(
                    name=f"bench-{number}",
                    strategy="ema_cross",
                    symbol=SYMBOLS[number % 3],
                    params='{"fast": 9, "slow": 21, "stop_atr": 0}',
                    desired_state="running",
                    status="running",
                )
            )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTDESK_")}
    env.update(
        BOTDESK_DATABASE_URL=url,
        BOTDESK_VAR_DIR=str(folder / "var"),
        BOTDESK_REPLAY_SPEED="2",  # a candle every 30 s: resting orders stay open
        BOTDESK_LOG_LEVEL="WARNING",
    )
    with open(folder / "engine.log", "wb") as log:
        engine = subprocess.Popen(
            [sys.executable, "-m", "botdesk", "engine"], env=env, cwd=folder, stderr=log
        )
        try:
            return rounds(db, args)
        finally:
            engine.terminate()
            engine.wait(timeout=30)
            db.dispose()


def rounds(db, args) -> int:
    started = select(func.count()).select_from(Bot).where(col(Bot.last_candle_ms).is_not(None))
    wait(lambda: count(db, started) == args.bots)
    halted_query = select(func.count()).select_from(Bot).where(Bot.status == "halted")
    open_query = (
        select(func.count()).select_from(Order).where(col(Order.status).in_(OPEN_ORDER_STATUSES))
    )
    halts, cancels, orders = [], [], []
    with db.reading() as session:
        ids = list(session.exec(select(Bot.id).order_by(col(Bot.id))).all())
    for round_number in range(args.rounds):
        resting_orders(db, ids[round_number % 4 :: 4], round_number, args.idle)
        orders.append(count(db, open_query))
        with db.writing() as session:
            kill_switch.engage(session=session, by="bench", role=Role.ADMIN, reason="bench")
        committed = time.perf_counter()
        halted = cancelled = None
        while halted is None or cancelled is None:
            now = time.perf_counter()
            if halted is None and count(db, halted_query) == args.bots:
                halted = now - committed
            if cancelled is None and count(db, open_query) == 0:
                cancelled = now - committed
            time.sleep(0.002)
        halts.append(halted)
        cancels.append(cancelled)
        with db.writing() as session:
            kill_switch.release(session=session, by="bench", role=Role.ADMIN, reason="bench")
            session.execute(update(Bot).values(desired_state="running", status="running"))
    ms = 1000
    print(
        f"{args.bots} bots, {args.rounds} rounds, {statistics.mean(orders):.0f} open orders "
        f"a round, {db.engine.url.get_backend_name()}, engine command poll 100 ms"
        + (", engaged with an idle command queue" if args.idle else ", commands still queued")
    )
    for name, values in (("all bots halted", halts), ("all orders cancelled", cancels)):
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(
            f"commit -> {name:<22} p50 {statistics.median(values) * ms:6.1f} ms   "
            f"p99 {p99 * ms:6.1f} ms   max {max(values) * ms:6.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
