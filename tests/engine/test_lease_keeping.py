"""Leases that never lapse under load (PostgreSQL, where engines share bots by lease): a
candle pass that outlasts a lease extends it as it goes, so no bot-candle is skipped,
and the lease keeper renews on a thread of its own while nothing else runs."""

import time
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import select

from botdesk.db.models import Bot, BotState
from botdesk.db.types import utcnow
from botdesk.engine import leases
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import Strategy
from tests.engine.driving import Driver, runtime_for, sample
from tests.engine.test_leases import postgres_db  # noqa: F401  (the fixture)
from tests.factories import make_bot

pytestmark = [pytest.mark.postgres]

PAUSE = 0.12  # seconds each evaluation sleeps


class Sleepy(Strategy):
    """Never signals; takes PAUSE seconds to say so (a slow strategy)."""

    name = "sleepy"
    title = "Sleepy"
    calls = 0

    @property
    def lookback(self) -> int:
        return 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        Sleepy.calls += 1
        time.sleep(PAUSE)
        none = np.zeros(len(candles), dtype=bool)
        return SignalFrame.build(len(candles), buy=none, sell=none, confidence=0)


@pytest.fixture
def sleepy():
    registry.register(Sleepy)
    Sleepy.calls = 0
    yield
    registry.STRATEGIES.pop("sleepy", None)


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "per-bot"])
def test_a_pass_longer_than_the_lease_skips_no_bot_candle(postgres_db, sleepy, batched):  # noqa: F811
    db = postgres_db
    bots = [
        make_bot(db, strategy="sleepy", params={"stop_atr": 0}, state=BotState.RUNNING)
        for _ in range(24)
    ]
    runtime = runtime_for(db)
    runtime.settings.LEASE_SECONDS = 2  # the pass below takes 24 x 0.12 s = 2.9 s at least
    data = {"BTCUSDT": sample("BTCUSDT")[:700]}
    driver = Driver(runtime, data)
    driver.runner.batched = batched
    calls = Sleepy.calls
    started = time.monotonic()
    processed = driver.step()
    assert time.monotonic() - started > runtime.settings.LEASE_SECONDS  # it did outlast one
    assert Sleepy.calls - calls == len(bots)
    assert processed == len(bots)
    newest = int(data["BTCUSDT"].open_time_ms[driver.position - 1])
    with db.reading() as session:
        rows = session.exec(select(Bot)).all()
    assert {bot.last_candle_ms for bot in rows} == {newest}
    assert all(bot.lease_owner == runtime.engine_id for bot in rows)


def test_the_lease_keeper_renews_on_its_own_thread(postgres_db):  # noqa: F811
    db = postgres_db
    for _ in range(3):
        make_bot(db, state=BotState.RUNNING)
    runtime = runtime_for(db)
    runtime.settings.LEASE_SECONDS = 2
    leases.renew(runtime)
    keeper = leases.LeaseKeeper(runtime, interval=0.3)
    keeper.start()
    try:
        time.sleep(3)  # longer than a lease: only the keeper can have kept them
        with db.reading() as session:
            expiries = [bot.lease_expires_at for bot in session.exec(select(Bot)).all()]
    finally:
        keeper.stop()
    assert all(expiry > utcnow() + timedelta(seconds=1) for expiry in expiries)
    time.sleep(2.2)  # stopped: nothing renews them any more
    with db.reading() as session:
        assert all(bot.lease_expires_at < utcnow() for bot in session.exec(select(Bot)).all())


def test_extending_keeps_a_lapsed_lease_nobody_claimed_and_leaves_a_claimed_one(
    postgres_db,  # noqa: F811
):
    db = postgres_db
    mine, taken = (make_bot(db, state=BotState.RUNNING) for _ in range(2))
    runtime = runtime_for(db, engine_id="me")
    past = utcnow() - timedelta(seconds=30)  # as after one batch that outlasted the lease
    with db.writing() as session:
        for bot, owner in ((mine, "me"), (taken, "other")):
            row = session.get(Bot, bot.id)
            row.lease_owner, row.lease_expires_at = owner, past
    assert leases.extend(runtime) == 1
    with db.reading() as session:
        kept, claimed = session.get(Bot, mine.id), session.get(Bot, taken.id)
    assert kept.lease_owner == "me" and kept.lease_expires_at > utcnow()
    assert claimed.lease_owner == "other" and claimed.lease_expires_at == past
