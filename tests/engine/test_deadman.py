"""The dead man's switch with a real fault: another connection locks the engine_instance
table (on SQLite, the file's write lock), so the heartbeat cannot be written; past DEADMAN
seconds the order path refuses every order, and the next heartbeat that gets through
lifts it."""

import sqlite3
import time
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from botdesk.db import session as session_module
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


def _impatient(db: Database, monkeypatch) -> Database:
    """A second handle on the database whose connections give up on a lock after 200 ms
    instead of waiting: the heartbeat's, so that a held lock makes it fail."""
    if db.is_sqlite:
        monkeypatch.setattr(session_module, "BUSY_TIMEOUT_MS", 200)
        return Database(db.url)
    return Database(
        make_url(db.url)
        .update_query_dict({"options": "-c lock_timeout=200"})
        .render_as_string(hide_password=False)
    )


@contextmanager
def _heartbeat_blocked(db: Database):
    """Another connection holds a lock the heartbeat needs: on PostgreSQL the
    engine_instance table alone, on SQLite the whole file's write lock."""
    if db.is_sqlite:
        blocker = sqlite3.connect(make_url(db.url).database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        return
    dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as blocker:
        blocker.execute("LOCK TABLE engine_instance IN ACCESS EXCLUSIVE MODE")
        yield
        blocker.rollback()


def test_no_order_while_the_heartbeat_cannot_be_written(db, armed, monkeypatch):
    bot = make_bot(db)
    with db.writing() as session:
        session.add(EngineInstance(id="test", hostname="here", pid=1, feed="replay"))
    impatient = _impatient(db, monkeypatch)
    heartbeat = Heartbeat(runtime_for(impatient))
    deadman.arm(heartbeat, SILENCE)
    heartbeat.beat()
    assert heartbeat.failing_since is None
    assert _buy(db, bot).status == "filled"

    with _heartbeat_blocked(db):
        deadline = time.monotonic() + SILENCE * 2
        while time.monotonic() < deadline:
            heartbeat.beat()  # fails: the lock is held
            assert heartbeat.failing_since is not None
        if not db.is_sqlite:  # only the heartbeat's table is locked: the order path runs
            reason = refused(_buy(db, bot), "dead_mans_switch")
    if db.is_sqlite:  # the whole file was locked; the fault has cleared, no beat written yet
        reason = refused(_buy(db, bot), "dead_mans_switch")
    assert reason.startswith("dead man's switch: the engine has not written its heartbeat")
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
