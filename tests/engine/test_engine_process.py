"""The engine as a real process on replayed real markets: the demo bots trade; kill -9 in
the middle of a replay and a restart lose nothing and double nothing (the fills equal an
uninterrupted run's); the kill switch halts, cancels and flattens, and an engine
restarted with the switch engaged trades nothing."""

import numpy as np
import pytest
from sqlmodel import col, func, select

import botdesk.engine.handlers  # noqa: F401  (registers the handlers)
from botdesk.db import candles as candle_store
from botdesk.db import commands as command_queue
from botdesk.db import kill_switch
from botdesk.db.models import (
    Bot,
    Command,
    EquitySnapshot,
    Fill,
    Order,
    Position,
    Role,
    Signal,
)
from botdesk.db.seed import seed_demo
from botdesk.db.session import Database
from botdesk.engine import accounts, commands
from tests.conftest import make_env
from tests.engine.driving import Driver, runtime_for, sample
from tests.processes import wait_until

pytestmark = pytest.mark.integration
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def seeded(db) -> list[Bot]:
    with db.writing() as session:
        seed_demo(session=session)
    with db.reading() as session:
        return list(session.exec(select(Bot).order_by(col(Bot.id))).all())


def count(db, model, *where) -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def cursors(db) -> dict[str, int | None]:
    with db.reading() as session:
        return {bot.name: bot.last_candle_ms for bot in session.exec(select(Bot)).all()}


def test_the_demo_bots_trade_replayed_real_data(db, tmp_path, processes):
    bots = seeded(db)
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="600")
    engine = processes.start(["engine"], env)

    def everyone_traded():
        return all(count(db, Fill, Fill.bot_id == bot.id) >= 2 for bot in bots)

    wait_until(everyone_traded, timeout=120, interval=0.5, message="every demo bot filled twice")
    for model in (Signal, Order, Fill, Position, EquitySnapshot):
        assert count(db, model) > 0, model.__name__
    # stopped first: on PostgreSQL each statement of the check reads what is committed
    # when it runs, and an engine still trading could book a fill between two of them
    assert engine.stop() == 0
    with db.reading() as session:
        for bot in session.exec(select(Bot)).all():
            assert bot.status == "running", bot.status_reason
            assert accounts.discrepancies(session=session, bot=bot) == []


def _fills_by_bot(db) -> dict[str, list[tuple]]:
    with db.reading() as session:
        names = {bot.id: bot.name for bot in session.exec(select(Bot)).all()}
        orders = {order.id: order for order in session.exec(select(Order)).all()}
        fills = session.exec(select(Fill).order_by(col(Fill.id))).all()
    result: dict[str, list[tuple]] = {name: [] for name in names.values()}
    for fill in fills:
        order = orders[fill.order_id]
        result[names[fill.bot_id]].append(
            (order.purpose, fill.side, fill.quantity, fill.price, fill.fee, fill.filled_at)
        )
    return result


def test_kill_9_in_the_middle_of_a_replay_loses_and_doubles_nothing(
    db, tmp_path, processes, sqlite_template
):
    bots = seeded(db)
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="900")
    first = processes.start(["engine"], env, name="first")
    wait_until(lambda: count(db, Fill) >= 6, timeout=120, interval=0.2, message="fills")
    first.kill_hard()
    at_kill = cursors(db)
    fills_at_kill = count(db, Fill)
    second = processes.start(["engine"], env, name="second")
    wait_until(
        lambda: all(cursors(db)[name] >= at_kill[name] + 150 * 60_000 for name in at_kill),
        timeout=180,
        interval=0.5,
        message="bots carrying on after the restart",
    )
    assert second.stop() == 0
    assert count(db, Fill) > fills_at_kill

    with db.reading() as session:
        for bot in session.exec(select(Bot)).all():
            assert bot.status == "running", bot.status_reason
            assert accounts.discrepancies(session=session, bot=bot) == []
            # one equity snapshot per candle, no hole, no double, across the kill
            times = session.exec(
                select(EquitySnapshot.candle_open_ms)
                .where(EquitySnapshot.bot_id == bot.id)
                .order_by(col(EquitySnapshot.candle_open_ms))
            ).all()
            assert np.all(np.diff(times) == 60_000), bot.name
            assert times[-1] == bot.last_candle_ms
            # every order is filled, or refused/cancelled with a reason, or waits for
            # the candle after the cursor
            for order in session.exec(select(Order).where(Order.bot_id == bot.id)).all():
                if order.status in ("open", "new"):
                    assert order.candle_open_ms == bot.last_candle_ms
                elif order.status != "filled":
                    assert order.status_reason, order.client_order_id

    # the same bots run without interruption make exactly the same fills; on a busy
    # machine the bots of one symbol may start a candle or two after another's, so each
    # start is replayed with its own bots
    final = cursors(db)
    actual = _fills_by_bot(db)
    starts: dict[int, list[Bot]] = {}
    for bot in bots:
        starts.setdefault(count_first(db, bot.id), []).append(bot)
    for first_candle, starting in starts.items():
        expected = _uninterrupted(
            tmp_path / f"reference-{first_candle}", sqlite_template, first_candle,
            keep={bot.name for bot in starting}, until=max(final.values()),
        )  # fmt: skip
        for bot in starting:  # compare what both runs have reached
            done = [f for f in expected[bot.name] if f[5].timestamp() * 1000 <= final[bot.name]]
            assert actual[bot.name] == done, bot.name


def _uninterrupted(folder, template, first_candle: int, keep: set[str], until: int) -> dict:
    """The demo bots named in `keep`, driven in-process from `first_candle` to `until`."""
    folder.mkdir()
    reference = Database(template.fresh(folder))
    for bot in seeded(reference):
        if bot.name not in keep:
            with reference.writing() as session:
                session.delete(session.get(Bot, bot.id))
    index = int(np.searchsorted(sample("BTCUSDT").open_time_ms, first_candle))
    driver = Driver(runtime_for(reference), {s: sample(s) for s in SYMBOLS}, warmup=index)
    driver.run(int((until - first_candle) // 60_000) + 1)
    fills = _fills_by_bot(reference)
    reference.dispose()
    return fills


def count_first(db, bot_id: int) -> int:
    with db.reading() as session:
        return session.exec(
            select(func.min(EquitySnapshot.candle_open_ms)).where(EquitySnapshot.bot_id == bot_id)
        ).one()


def test_kill_switch_with_open_orders_and_positions_then_a_restart_trades_nothing(
    db, tmp_path, processes
):
    bots = seeded(db)
    # open positions and a resting order, made by the engine's own code in-process
    driver = Driver(runtime_for(db), {s: sample(s) for s in SYMBOLS}, warmup=1440)
    while count(db, Position, Position.status == "open") < 2:
        driver.step()
    with db.writing() as session:
        signal = Signal(
            bot_id=bots[2].id,
            dedupe_key="tv:1",
            source="webhook",
            symbol=bots[2].symbol,
            timeframe="1m",
            side="buy",
        )
        session.add(signal)
    with db.writing() as session:
        command_queue.issue(
            session=session, kind="signal.execute", issued_by="tv", target=f"signal:{signal.id}"
        )
    commands.consume(driver.runtime)
    open_orders = count(db, Order, col(Order.status).in_(("new", "open")))
    open_positions = count(db, Position, Position.status == "open")
    assert open_orders >= 1 and open_positions >= 2
    with db.writing() as session:
        engage = kill_switch.engage(
            session=session, by="ops", role=Role.TRADER, reason="exchange incident", flatten=True
        )
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="600")
    engine = processes.start(["engine"], env)

    def engaged_done():
        with db.reading() as session:
            command = session.get(Command, engage.id)
        return command.status == "done" and command

    done = wait_until(engaged_done, timeout=60, message="kill switch handled")
    assert done.result.startswith(
        f"halted 3 bot(s), cancelled {open_orders} open order(s); "
        f"flattened {open_positions} position(s)"
    )
    with db.reading() as session:
        assert {(b.desired_state, b.status) for b in session.exec(select(Bot)).all()} == {
            ("stopped", "halted")
        }
    assert count(db, Order, col(Order.status).in_(("new", "open"))) == 0
    assert count(db, Position, Position.status == "open") == 0
    assert count(db, Order, Order.purpose == "flatten", Order.status == "filled") == open_positions
    assert engine.stop() == 0

    frozen = {m.__name__: count(db, m) for m in (Signal, Order, Fill, EquitySnapshot)}
    with db.writing() as session:  # even a bot forced back to running by hand trades nothing
        forced = session.get(Bot, bots[0].id)
        forced.desired_state = forced.status = "running"
    before = latest_candle(db)
    restarted = processes.start(["engine"], env, name="restarted")
    wait_until(
        lambda: latest_candle(db) >= before + 30 * 60_000,
        timeout=60,
        message="the restarted engine's feed running on",
    )
    with db.writing() as session:
        start = command_queue.issue(
            session=session, kind="bot.start", issued_by="bob", target=f"bot:{bots[0].id}"
        )
    refused = wait_until(lambda: _finished(db, start.id), timeout=30, message="bot.start answered")
    assert refused.status == "failed"
    assert refused.result == "kill switch engaged: an admin must release it first"
    assert {m.__name__: count(db, m) for m in (Signal, Order, Fill, EquitySnapshot)} == frozen
    assert restarted.stop() == 0


def latest_candle(db) -> int:
    with db.reading() as session:
        return candle_store.latest_open_ms(session=session) or 0


def _finished(db, command_id: int):
    with db.reading() as session:
        command = session.get(Command, command_id)
    return command.finished_at and command
