"""The engine as a real process trading a bot on the fake Binance (replayed candles drive
the strategy, orders go to the fake through python-binance): its dispatch job sends them,
kill -9 while a fifth of the requests fail, a restart reconciles: no order placed twice,
none left unknown, the books match the exchange."""

import threading

import pytest
from sqlmodel import col, func, select

from botdesk.db import commands as command_queue
from botdesk.db.models import Order, OrderStatus
from tests.conftest import make_env
from tests.engine.binance_setup import (
    UNSETTLED,
    assert_books_match_binance,
    assert_holdings_match,
    binance_account,
    binance_bot,
    fake_binance,
)
from tests.engine.test_binance_trading import FAULTS
from tests.processes import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def fake():
    with fake_binance() as server:
        stop = threading.Event()

        def market():  # the fake's price moves on while the engine trades
            while not stop.wait(0.2):
                server.advance(1)

        mover = threading.Thread(target=market, daemon=True)
        mover.start()
        yield server
        stop.set()
        mover.join()


def filled(db) -> int:
    with db.reading() as session:
        return session.exec(
            select(func.count())
            .select_from(Order)
            .where(Order.status == OrderStatus.FILLED, Order.purpose != "dust")
        ).one()


def unsettled(db) -> int:
    with db.reading() as session:
        return session.exec(
            select(func.count()).select_from(Order).where(col(Order.status).in_(UNSETTLED))
        ).one()


def test_kill_9_with_faults_then_a_restart_places_nothing_twice(db, tmp_path, processes, fake):
    account_id = binance_account(db, fake)
    bot = binance_bot(db, account_id, symbol="BTCUSDT")
    env = make_env(
        db.url,
        tmp_path,
        BOTDESK_REPLAY_SPEED="300",
        BOTDESK_BINANCE_TIMEOUT_SECONDS="0.5",
        BOTDESK_RECONCILE_SECONDS="2",
    )
    first = processes.start(["engine"], env, name="first")
    wait_until(lambda: filled(db) >= 3, timeout=120, interval=0.2, message="3 filled orders")
    fake.faults.timeout()  # the next order surely meets an unknown outcome
    fake.faults.at_random(0.2, FAULTS, seed=11)
    wait_until(lambda: filled(db) >= 7, timeout=120, interval=0.2, message="7 filled orders")
    first.kill_hard()

    fake.faults.clear()
    second = processes.start(["engine"], env, name="second")
    wait_until(lambda: filled(db) >= 9, timeout=120, interval=0.2, message="trading again")
    with db.writing() as session:  # the bot stops; what is in flight settles
        command_queue.issue(
            session=session, kind="bot.stop", issued_by="ops", target=f"bot:{bot.id}"
        )
    wait_until(lambda: unsettled(db) == 0, timeout=60, interval=0.2, message="all settled")
    assert second.stop() == 0
    assert any(f.kind == "timeout" for f in fake.faults.fired)
    assert_books_match_binance(db, fake)
    assert_holdings_match(db, fake, bot)
