"""Several engines on PostgreSQL share the bots through leases: two engines split them,
and when one is killed the other takes its bots over, skipping and doubling no candle."""

import numpy as np
import pytest
from sqlmodel import col, select

from botdesk.db.models import Bot, EquitySnapshot
from botdesk.db.session import Database
from tests.conftest import make_env
from tests.databases import POSTGRES_SKIP_REASON
from tests.factories import make_bot
from tests.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def postgres_db(request, tmp_path):
    template = request.getfixturevalue("postgres_template")
    if template is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    url = template.fresh(tmp_path)
    database = Database(url)
    yield database
    database.dispose()
    template.drop(url)


def owners(db) -> dict[int, str | None]:
    with db.reading() as session:
        return {bot.id: bot.lease_owner for bot in session.exec(select(Bot)).all()}


def cursors(db) -> dict[int, int]:
    with db.reading() as session:
        return {bot.id: bot.last_candle_ms or 0 for bot in session.exec(select(Bot)).all()}


def test_two_engines_split_the_bots_and_one_takes_over_a_killed_one(
    postgres_db, tmp_path, processes
):
    db = postgres_db
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BTCUSDT"):
        make_bot(db, symbol=symbol, state="running", params={"fast": 5, "slow": 13, "stop_atr": 1})
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="300", BOTDESK_LEASE_SECONDS="4")
    first = processes.start(["engine"], env, name="first")
    wait_until(lambda: None not in owners(db).values(), timeout=60, message="first leases all")
    second = processes.start(["engine"], env, name="second")

    def split():
        held = list(owners(db).values())
        engines = set(held)
        complete = None not in engines and len(engines) == 2
        return complete and all(held.count(e) == 2 for e in engines) and engines

    engines = wait_until(split, timeout=60, interval=0.2, message="two engines with two bots each")
    before = cursors(db)
    wait_until(
        lambda: all(cursors(db)[b] > before[b] for b in before),
        timeout=60,
        message="every bot trading under the split",
    )
    with db.reading() as session:
        victim = session.get(Bot, 1).lease_owner
    survivor = (engines - {victim}).pop()
    killed = first if f"-{first.proc.pid}-" in victim else second  # ids: host-pid-random
    killed.kill_hard()
    at_kill = cursors(db)
    wait_until(
        lambda: set(owners(db).values()) == {survivor},
        timeout=60,
        interval=0.2,
        message="the survivor leasing every bot",
    )
    wait_until(
        lambda: all(cursors(db)[b] >= at_kill[b] + 20 * 60_000 for b in at_kill),
        timeout=90,
        interval=0.5,
        message="every bot trading again",
    )
    with db.reading() as session:
        for bot_id in at_kill:
            times = session.exec(
                select(EquitySnapshot.candle_open_ms)
                .where(EquitySnapshot.bot_id == bot_id)
                .order_by(col(EquitySnapshot.candle_open_ms))
            ).all()
            assert np.all(np.diff(times) == 60_000), f"bot {bot_id}: a candle skipped or doubled"
