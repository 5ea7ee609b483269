"""The dead man's switch with a real fault: another connection locks the engine_instance
table, so the heartbeat cannot be written; past DEADMAN seconds the order path refuses
every order, and the next heartbeat that gets through lifts it."""

import time
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from botdesk.db.models import EngineInstance, RiskEvent
from botdesk.db.session import Database
from botdesk.engine.brokers.base import MarketContext
from botdesk.engine.heartbeat import Heartbeat
from botdesk.engine.risk import deadman
from tests.engine.driving import runtime_for
from tests.engine.test_ledger import AT
from tests.engine.test_risk import order, refused
from tests.factories import make_bot

D = Decimal
SILENCE = 0.5  # seconds


@pytest.fixture
def armed():
    yield
    deadman.disarm()


def _buy(db, bot):
    market = MarketContext(symbol="BTCUSDT", at=AT, last_price=D("100"))
    return order(db, bot, "0.01", market=market)


def test_no_order_while_the_heartbeat_cannot_be_written(db, armed):
    if db.is_sqlite:
        pytest.skip("needs PostgreSQL's table locks and lock_timeout (SQLite waits 30 s)")
    bot = make_bot(db)
    with db.writing() as session:
        session.add(EngineInstance(id="test", hostname="here", pid=1, feed="replay"))
    # the heartbeat's own connections give up on a lock after 200 ms instead of hanging
    impatient = Database(
        make_url(db.url)
        .update_query_dict({"options": "-c lock_timeout=200"})
        .render_as_string(hide_password=False)
    )
    heartbeat = Heartbeat(runtime_for(impatient))
    deadman.arm(heartbeat, SILENCE)
    heartbeat.beat()
    assert heartbeat.failing_since is None
    assert _buy(db, bot).status == "filled"

    dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as blocker:
        blocker.execute("LOCK TABLE engine_instance IN ACCESS EXCLUSIVE MODE")
        deadline = time.monotonic() + SILENCE * 2
        while time.monotonic() < deadline:
            heartbeat.beat()  # fails: the lock is held
            assert heartbeat.failing_since is not None
        reason = refused(_buy(db, bot), "dead_mans_switch")
        assert reason.startswith("dead man's switch: the engine has not written its heartbeat")
        blocker.rollback()
    heartbeat.beat()
    assert heartbeat.failing_since is None
    assert _buy(db, bot).status == "filled"
    with db.reading() as session:
        rules = session.exec(select(RiskEvent.rule)).all()
    assert rules == ["dead_mans_switch"]
    impatient.dispose()


def test_an_unarmed_engine_never_refuses():
    deadman.disarm()
    assert deadman.blocked_reason() is None
