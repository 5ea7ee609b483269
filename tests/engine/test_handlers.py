"""Command handlers in-process on a real database: the engine's command consumer runs
them exactly as the engine process does."""

import time
from decimal import Decimal

import pytest
from sqlmodel import col, select

import botdesk.engine.handlers  # noqa: F401  (registers the handlers)
from botdesk.db import commands as command_queue
from botdesk.db import kill_switch
from botdesk.db.models import (
    Bot,
    BotState,
    Command,
    EquitySnapshot,
    Fill,
    Order,
    Position,
    Role,
    Signal,
)
from botdesk.engine import commands
from botdesk.formats import money_text, quantity_text
from tests.engine.driving import Driver, runtime_for, sample
from tests.factories import make_bot

RUNNING = BotState.RUNNING
BTC = sample("BTCUSDT")[:1200]


def issue(db, kind: str, target: str | None = None, **params) -> int:
    with db.writing() as session:
        return command_queue.issue(
            session=session, kind=kind, issued_by="alice", target=target, params=params
        ).id


def run(runtime, command_id: int) -> Command:
    commands.consume(runtime)
    with runtime.db.reading() as session:
        return session.get(Command, command_id)


def webhook_signal(db, bot_id: int, side: str, alert: str) -> int:
    with db.writing() as session:
        signal = Signal(
            bot_id=bot_id,
            dedupe_key=f"tv:{alert}",
            source="webhook",
            symbol="BTCUSDT",
            timeframe="1m",
            side=side,
        )
        session.add(signal)
    return signal.id


def rows(db, model, *where):
    with db.reading() as session:
        return list(session.exec(select(model).where(*where).order_by(col(model.id))).all())


@pytest.fixture
def traded(db):
    """Two BTC bots on a driven market: one long (from a webhook buy), one with a buy
    order resting for the next candle."""
    runtime = runtime_for(db, slippage_bps="10")
    long_bot = make_bot(
        db, name="long", state=RUNNING, params={"fast": 9, "slow": 21, "stop_atr": 0}
    )
    waiting = make_bot(
        db, name="waiting", state=RUNNING, params={"fast": 9, "slow": 21, "stop_atr": 0}
    )
    driver = Driver(runtime, {"BTCUSDT": BTC})
    assert (
        run(
            runtime,
            issue(db, "signal.execute", f"signal:{webhook_signal(db, long_bot.id, 'buy', 'a')}"),
        ).status
        == "done"
    )
    driver.step()
    assert (
        run(
            runtime,
            issue(db, "signal.execute", f"signal:{webhook_signal(db, waiting.id, 'buy', 'b')}"),
        ).status
        == "done"
    )
    return runtime, driver, long_bot, waiting


def test_a_webhook_buy_rests_until_the_next_open_and_runs_once(db, traded):
    runtime, driver, long_bot, waiting = traded
    [fill] = rows(db, Fill, Fill.bot_id == long_bot.id)
    # the webhook order filled at the open of the candle after it, plus 10 bps
    assert fill.price == (Decimal(str(BTC.open[600])) * Decimal("1.001")).quantize(Decimal("1E-8"))
    [resting] = rows(db, Order, Order.bot_id == waiting.id)
    assert resting.status == "open" and resting.purpose == "webhook"
    signal_id = resting.signal_id
    again = run(runtime, issue(db, "signal.execute", f"signal:{signal_id}"))
    assert again.status == "done" and "already handled: accepted" in again.result
    assert len(rows(db, Order, Order.bot_id == waiting.id)) == 1
    sell = run(
        runtime,
        issue(db, "signal.execute", f"signal:{webhook_signal(db, long_bot.id, 'sell', 'c')}"),
    )
    assert sell.status == "done"
    driver.step()
    [position] = rows(db, Position, Position.bot_id == long_bot.id)
    assert position.status == "closed" and position.exit_reason == "webhook"


def test_position_close_fills_at_once_at_the_last_close_and_never_twice(db, traded):
    runtime, _, long_bot, _ = traded
    [position] = rows(db, Position, Position.bot_id == long_bot.id)
    done = run(runtime, issue(db, "position.close", f"position:{position.id}", reason="desk"))
    assert done.status == "done", done.result
    last_close = Decimal(str(BTC.close[600]))
    expected = (last_close * Decimal("0.999")).quantize(Decimal("1E-8"))
    # in the desk's formats (issue 14 item 27): no 8-decimal price, the bot named
    sold = f"sold {quantity_text(position.quantity)} BTCUSDT at {money_text(expected)}"
    assert f"({long_bot.name} BTCUSDT) closed (desk): {sold}" in done.result
    assert f"{expected:.8f}" not in done.result
    [closed] = rows(db, Position, Position.id == position.id)
    assert closed.status == "closed" and closed.exit_reason == "close"
    # re-run as a restarted engine would: no second order
    with db.writing() as session:
        command = session.get(Command, done.id)
        command.status, command.finished_at = "running", None
    commands.resume_interrupted(runtime, None)
    assert len(rows(db, Order, Order.bot_id == long_bot.id, Order.purpose == "close")) == 1
    again = rows(db, Command, Command.id == done.id)[0]
    assert again.status == "done" and "resumed after an engine restart" in again.result


def test_start_stop_pause_and_their_refusals(db, traded):
    runtime, driver, long_bot, waiting = traded
    stop = run(runtime, issue(db, "bot.stop", f"bot:{waiting.id}"))
    assert stop.status == "done" and "1 open order(s) cancelled" in stop.result
    assert rows(db, Order, Order.bot_id == waiting.id)[0].status == "cancelled"
    stop_long = run(runtime, issue(db, "bot.stop", f"bot:{long_bot.id}"))
    assert "stays open" in stop_long.result and "position:" in stop_long.result
    driver.step(3)
    [bot] = rows(db, Bot, Bot.id == waiting.id)
    assert bot.status == "stopped" and bot.last_candle_ms == int(BTC.open_time_ms[600])
    started = run(runtime, issue(db, "bot.start", f"bot:{waiting.id}"))
    assert started.status == "done" and "started" in started.result
    assert rows(db, Bot, Bot.id == waiting.id)[0].last_candle_ms is None  # trades from now on
    assert "already running" in run(runtime, issue(db, "bot.start", f"bot:{waiting.id}")).result
    missing = run(runtime, issue(db, "bot.start", "bot:999"))
    assert missing.status == "failed" and missing.result == "there is no bot 999"
    with db.writing() as session:
        session.get(Bot, long_bot.id).params = '{"fast": 50, "slow": 20}'
    bad = run(runtime, issue(db, "bot.start", f"bot:{long_bot.id}"))
    assert bad.status == "failed" and "fast must be below slow" in bad.result
    wrong = run(runtime, issue(db, "bot.pause", "position:1"))
    assert wrong.status == "failed" and "target must be bot:<id>" in wrong.result


def test_start_refuses_a_timeframe_that_cannot_feed_the_strategys_higher_timeframes(db):
    runtime = runtime_for(db)
    bot = make_bot(db, strategy="confluence", timeframe="15m", params={"timeframes": "5m,15m"})
    refused = run(runtime, issue(db, "bot.start", f"bot:{bot.id}"))
    assert refused.status == "failed"
    assert refused.result == (
        f"cannot run {bot.name} on 15m candles: confluence reads 5m candles, and 5m candles "
        "cannot be built from 15m candles (a higher timeframe must be longer than the bot's "
        "and a whole multiple of it)"
    )
    with db.writing() as session:
        session.get(Bot, bot.id).timeframe = "1m"
    started = run(runtime, issue(db, "bot.start", f"bot:{bot.id}"))
    assert started.status == "done", started.result


def test_kill_switch_halts_cancels_flattens_and_nothing_trades_after(db, traded):
    runtime, driver, long_bot, waiting = traded
    other = make_bot(db, name="stopped-one")  # a stopped bot stays merely stopped
    with db.writing() as session:
        command = kill_switch.engage(
            session=session, by="ops", role=Role.TRADER, reason="exchange incident", flatten=True
        )
    start = run(runtime, issue(db, "bot.start", f"bot:{other.id}"))
    done = rows(db, Command, Command.id == command.id)[0]
    assert done.status == "done", done.result
    assert done.result.startswith(
        "halted 2 bot(s), cancelled 1 open order(s); flattened 1 position"
    )
    bots = {bot.name: bot for bot in rows(db, Bot)}
    for name in ("long", "waiting"):
        assert (bots[name].desired_state, bots[name].status) == ("stopped", "halted")
        assert bots[name].status_reason == "halted by the kill switch (ops): exchange incident"
    assert bots["stopped-one"].status == "stopped"
    assert start.status == "failed"
    assert start.result == "kill switch engaged: an admin must release it first"
    assert [o.status for o in rows(db, Order, Order.bot_id == waiting.id)] == ["cancelled"]
    [flat] = rows(db, Position, Position.bot_id == long_bot.id)
    assert flat.status == "closed" and flat.exit_reason == "flatten"
    snapshots = len(rows(db, EquitySnapshot))
    fills = len(rows(db, Fill))
    driver.step(20)
    assert len(rows(db, EquitySnapshot)) == snapshots and len(rows(db, Fill)) == fills
    with db.writing() as session:
        release = kill_switch.release(session=session, by="root", role=Role.ADMIN, reason="ok")
    released = run(runtime, release.id)
    assert released.status == "done" and "2 halted bot(s) stay stopped" in released.result
    driver.step(5)
    assert len(rows(db, EquitySnapshot)) == snapshots
    assert run(runtime, issue(db, "bot.start", f"bot:{long_bot.id}")).status == "done"


def test_pause_manages_the_position_but_opens_nothing(db):
    runtime = runtime_for(db)
    bot = make_bot(db, state=RUNNING, params={"fast": 3, "slow": 8, "stop_atr": 0.5})
    driver = Driver(runtime, {"BTCUSDT": BTC})
    while not rows(db, Position, Position.bot_id == bot.id, Position.status == "open"):
        driver.step()
    paused = run(runtime, issue(db, "bot.pause", f"bot:{bot.id}"))
    assert paused.status == "done" and "paused" in paused.result
    paused_at = driver.position
    driver.run(150)
    after = int(BTC.open_time_ms[paused_at])
    entries = rows(
        db, Order, Order.bot_id == bot.id, Order.side == "buy", Order.candle_open_ms >= after
    )
    assert entries == []
    ignored = rows(
        db, Signal, Signal.bot_id == bot.id, Signal.side == "buy", Signal.candle_open_ms >= after
    )
    assert ignored and all("paused" in s.status_reason for s in ignored)
    [position] = rows(db, Position, Position.bot_id == bot.id)
    assert position.status == "closed"  # its exit (signal or stop) still went out
    assert rows(db, Bot, Bot.id == bot.id)[0].last_candle_ms == int(
        BTC.open_time_ms[driver.position - 1]
    )


def test_a_backtest_command_runs_in_the_background(db):
    from botdesk.db.models import BacktestRun

    runtime = runtime_for(db)
    with db.writing() as session:
        row = BacktestRun(
            strategy="ema_cross",
            params='{"fast": 5, "slow": 13}',
            symbol="ETHUSDT",
            timeframe="5m",
            data_source="sample",
        )
        session.add(row)
    command_id = issue(db, "backtest.run", f"backtest_run:{row.id}")
    commands.consume(runtime)
    deadline = time.monotonic() + 60
    while rows(db, Command, Command.id == command_id)[0].status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [finished] = rows(db, BacktestRun, BacktestRun.id == row.id)
    assert finished.status == "done" and finished.progress == 1.0
    assert finished.trades > 10 and finished.candles == 2016
    assert rows(db, Command, Command.id == command_id)[0].result.startswith(
        f"backtest_run {row.id} done"
    )
