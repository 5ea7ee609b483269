"""The kill switch against a real engine process running 50 paper bots on a replayed real
market: once the flag is committed no order is created but the flatten's, every bot is
halted, no order stays open and (with flatten) no position; a trader cannot release it;
an engine restarted with the flag set trades nothing."""

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from botdesk.db import candles as candle_store
from botdesk.db import kill_switch
from botdesk.db.kill_switch import KillSwitchError
from botdesk.db.models import OPEN_ORDER_STATUSES, Bot, Command, Fill, Order, Position, Role, Signal
from botdesk.db.types import utcnow
from tests.conftest import make_env
from tests.factories import make_bot
from tests.processes import wait_until

pytestmark = pytest.mark.integration
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
BOTS = 50


def count(db, model, *where) -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def latest_candle(db) -> int:
    with db.reading() as session:
        return candle_store.latest_open_ms(session=session) or 0


def test_kill_switch_while_50_paper_bots_trade(db, tmp_path, processes):
    for number in range(BOTS):  # quick EMAs: most bots trade every few minutes, and a
        slow = 3 + number % 4 if number % 5 else 30  # fifth hold theirs for longer
        make_bot(
            db,
            symbol=SYMBOLS[number % 3],
            params={"fast": 2, "slow": slow, "stop_atr": 0},
            state="running",
        )
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="600")
    engine = processes.start(["engine"], env)

    def engaged_while_positions_are_open():
        """The latch set in the transaction that saw the bots trading and positions open
        (read apart, a fast engine could close them all between the two)."""
        with db.writing() as session:
            fills = session.exec(select(func.count()).select_from(Fill)).one()
            open_now = session.exec(select(Position.id).where(Position.status == "open")).all()
            if fills < BOTS or len(open_now) < 10:
                return None
            engage = kill_switch.engage(
                session=session, by="tess", role=Role.TRADER, reason="venue incident", flatten=True
            )
        return open_now, engage

    open_then, engage = wait_until(
        engaged_while_positions_are_open,
        timeout=600,  # liveness only: 50 bots on a slow, shared host took over 180 s once
        interval=0.2,
        message="the bots trading, positions open",
    )
    committed = utcnow()

    def handled():
        with db.reading() as session:
            command = session.get(Command, engage.id)
        return command.status == "done" and command

    done = wait_until(handled, timeout=180, message="the kill switch handled")
    assert done.result.startswith(f"halted {BOTS} bot(s)"), done.result
    with db.reading() as session:
        late = session.exec(
            select(Order).where(col(Order.created_at) > committed, Order.purpose != "flatten")
        ).all()
        assert late == [], [(o.client_order_id, o.purpose, o.created_at) for o in late]
        assert {(b.desired_state, b.status) for b in session.exec(select(Bot))} == {
            ("stopped", "halted")
        }
    assert count(db, Order, col(Order.status).in_(OPEN_ORDER_STATUSES)) == 0
    assert count(db, Position, Position.status == "open") == 0
    flattened = count(db, Order, Order.purpose == "flatten", Order.status == "filled")
    assert f"flattened {flattened} position(s)" in done.result, done.result
    # every position open when the latch was set was closed by the flatten, or by its own
    # exit order placed before the latch (a market order fills at the next open, and many
    # bots on one symbol cross on the same candle); a position the flatten closed that was
    # not open then was opened by an entry placed before the latch: no order placed after
    # it but the flatten's
    with db.reading() as session:
        orders_of = {
            position.id: session.exec(
                select(Order)
                .join(Fill, col(Fill.order_id) == col(Order.id))
                .where(Fill.position_id == position.id)
            ).all()
            for position in session.exec(select(Position)).all()
        }
    flattened_positions = {
        position_id
        for position_id, orders in orders_of.items()
        if any(order.purpose == "flatten" for order in orders)
    }
    assert len(flattened_positions) == flattened and open_then
    for position_id in set(open_then) | flattened_positions:
        others = [order for order in orders_of[position_id] if order.purpose != "flatten"]
        assert all(order.created_at <= committed for order in others), position_id
        if position_id not in flattened_positions:
            assert any(order.side == "sell" for order in others), position_id

    with pytest.raises(KillSwitchError, match="only an admin"), db.writing() as session:
        kill_switch.release(session=session, by="tess", role=Role.TRADER, reason="all clear")
    with db.reading() as session:
        assert kill_switch.status(session=session).engaged

    # the engine runs on: its feed moves, nothing trades (a pass already under way when
    # the flag was set may still record refused signals, never an order)
    frozen = {model.__name__: count(db, model) for model in (Order, Fill)}
    before = latest_candle(db)
    wait_until(
        lambda: latest_candle(db) >= before + 20 * 60_000,
        timeout=180,
        message="the feed running on while engaged",
    )
    assert {model.__name__: count(db, model) for model in (Order, Fill)} == frozen
    assert engine.stop() == 0

    with db.writing() as session:  # even bots forced back to running by hand trade nothing
        session.execute(update(Bot).values(desired_state="running", status="running"))
    frozen = {model.__name__: count(db, model) for model in (Signal, Order, Fill)}
    restarted = processes.start(["engine"], env, name="restarted")
    before = latest_candle(db)
    wait_until(
        lambda: latest_candle(db) >= before + 20 * 60_000,
        timeout=90,
        message="the restarted engine's feed running on",
    )
    assert {model.__name__: count(db, model) for model in (Signal, Order, Fill)} == frozen
    assert restarted.stop() == 0
