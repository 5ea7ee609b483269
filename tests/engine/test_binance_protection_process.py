"""A real `botdesk engine` process on the fake Binance opens a position whose stop-loss
Binance holds; kill -9 the engine; the fake market moves through the stop and the fake
exchange fills it; the engine restarts: the fill is booked once, the position is closed,
the ledger is exact, and no second sell was ever sent. Then the same with a trailing stop
that moved (cancel-replace on Binance) twice before the kill.

The engine replays the same real klines the fake exchange trades on; a thread keeps the
fake's market at the engine's newest candle until the kill, so the stops the engine
computes and the prices Binance checks them against are the same market's."""

import threading
from decimal import Decimal
from itertools import islice

import pytest
from sqlmodel import col, select

from botdesk.db import candles as candle_store
from botdesk.db import commands as command_queue
from botdesk.db import risk_limits
from botdesk.db.models import Bot, BotState, Order, Position, Protection, Signal
from tests.conftest import SHARED_DATA, make_env
from tests.engine.binance_setup import assert_holdings_match, binance_account
from tests.engine.protection_setup import (
    assert_ledger_exact,
    fills_of,
    legs_of,
    protections_of,
    sells_sent,
)
from tests.factories import make_bot
from tests.fake_binance import FakeBinance, load_klines
from tests.processes import wait_until

pytestmark = pytest.mark.integration

WARMUP = 1440  # the replay's first day is its warm-up history
CANDLES = WARMUP + 900
QUIET = {"period": 100, "oversold": 1, "overbought": 99, "stop_atr": 0}  # never signals


@pytest.fixture
def replay_file(tmp_path):
    """The first CANDLES rows of the shared BTCUSDT klines, as the engine's replay data."""
    source = SHARED_DATA / "BTCUSDT-1m.csv"
    if not source.exists():
        pytest.skip(f"shared market data {source} is not on this machine")
    folder = tmp_path / "replay"
    folder.mkdir()
    with source.open() as rows, (folder / "BTCUSDT-1m.csv").open("w") as out:
        out.writelines(islice(rows, CANDLES + 1))
    return folder


class Market:
    """The fake's market follows the engine's newest candle until `freeze`."""

    def __init__(self, db, fake: FakeBinance):
        self.db, self.fake = db, fake
        self.path = fake.exchange.paths["BTCUSDT"]
        self.index = {k.open_time: i for i, k in enumerate(self.path.klines)}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(0.05):
            with self.db.reading() as session:
                latest = candle_store.latest_open_ms(session=session, symbol="BTCUSDT")
            target = self.index.get(latest)
            if target is not None and target > self.path.index:
                self.fake.advance(target - self.path.index)

    def freeze(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def fake():
    klines = {"BTCUSDT": load_klines("BTCUSDT-1m.csv", CANDLES)}
    with FakeBinance(klines=klines, start_index=WARMUP - 1, hold_seconds=1.0) as server:
        yield server


def open_protected(db, tmp_path, processes, fake, replay_file, *, trailing: str | None):
    """Start the engine, enter by a signal with a stop 3% and a take-profit 5% away; wait
    until Binance holds the protection (and, trailing, until it moved twice)."""
    account_id = binance_account(db, fake)
    bot = make_bot(
        db,
        strategy="rsi_reversion",
        params=QUIET,
        broker="binance",
        exchange_account_id=account_id,
        state=BotState.RUNNING,
        capital=Decimal("1000"),
    )
    limits = {"risk_per_trade": "1"}  # 1% of the capital lost at the stop
    if trailing is not None:
        limits["trailing_stop_percent"] = trailing
    with db.writing() as session:
        for kind, value in limits.items():
            risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=bot.id, by="t")
    env = make_env(
        db.url,
        tmp_path,
        BOTDESK_REPLAY_DATA=str(replay_file),
        BOTDESK_REPLAY_SPEED="30",
        BOTDESK_BINANCE_TIMEOUT_SECONDS="1",
        BOTDESK_RECONCILE_SECONDS="2",
    )
    market = Market(db, fake)
    engine = processes.start(["engine"], env, name="first")
    wait_until(lambda: bot_status(db, bot.id) == BotState.RUNNING, timeout=60, message="running")
    start = market.path.index
    wait_until(lambda: market.path.index > start, timeout=60, message="the market moving on")
    price = fake.exchange.price("BTCUSDT")
    with db.writing() as session:
        signal = Signal(
            bot_id=bot.id,
            dedupe_key="manual:entry",
            source="manual",
            symbol="BTCUSDT",
            timeframe="1m",
            side="buy",
            price=price,
            stop=(price * Decimal("0.97")).quantize(Decimal("0.01")),
            take_profit=(price * Decimal("1.05")).quantize(Decimal("0.01")),
        )
        session.add(signal)
        session.flush()
        command_queue.issue(
            session=session,
            kind="signal.execute",
            issued_by="test",
            target=f"signal:{signal.id}",
            reason="open a protected position",
        )
    held = 3 if trailing is not None else 1  # the first, then two replacements
    wait_until(
        lambda: len(placed(db)) >= held and protections_of(db)[-1].status == "open",
        timeout=120,
        interval=0.2,
        message=f"{held} protection(s), the last held by Binance",
    )
    return bot, engine, env, market


def placed(db) -> list[Protection]:
    """The protections that reached Binance (a move may replace one before it is sent)."""
    return [row for row in protections_of(db) if row.order_list_id is not None]


def bot_status(db, bot_id: int) -> str:
    with db.reading() as session:
        return session.get(Bot, bot_id).status


def position_of(db, bot) -> Position:
    with db.reading() as session:
        return session.exec(select(Position).where(Position.bot_id == bot.id)).one()


def kill_fill_restart(db, processes, fake, bot, engine, env, market) -> Protection:
    """kill -9, the fake market through the held stop, restart; returns the protection."""
    market.freeze()
    engine.kill_hard()
    held = protections_of(db)[-1]
    assert held.status == "open"
    stop_leg = legs_of(db, held.id)[_stop_purpose(db, held)]
    executing = [kept for kept in fake.exchange.order_lists if kept.status == "EXECUTING"]
    assert [kept.list_client_order_id for kept in executing] == [held.list_client_order_id]
    fake.set_price("BTCUSDT", stop_leg.stop_price)  # triggers; fills at its limit
    (on_binance,) = fake.orders_with_client_id(stop_leg.client_order_id)
    assert on_binance.status == "FILLED"
    assert position_of(db, bot).status == "open"  # nobody has told botdesk yet
    second = processes.start(["engine"], env, name="second")
    wait_until(
        lambda: position_of(db, bot).status == "closed",
        timeout=60,
        interval=0.2,
        message="the position closed by the restarted engine's reconciliation",
    )
    wait_until(lambda: protections_of(db)[-1].status == "filled", timeout=30, message="filled")
    wait_until(lambda: " started on " in second.output(), timeout=60, message="engine started")
    assert second.stop() == 0
    return held


def _stop_purpose(db, held: Protection) -> str:
    legs = legs_of(db, held.id)
    return "trailing_stop" if "trailing_stop" in legs else "stop_loss"


def assert_booked_once(db, fake, bot, held: Protection, exit_reason: str) -> None:
    legs = legs_of(db, held.id)
    stop_leg, take_leg = legs[exit_reason], legs["take_profit"]
    (on_binance,) = fake.orders_with_client_id(stop_leg.client_order_id)
    (trade,) = on_binance.trades
    fills = fills_of(db, stop_leg.id)
    assert [(f.trade_id, f.price, f.quantity) for f in fills] == [
        (str(trade.id), trade.price, trade.qty)
    ]
    assert (stop_leg.status, take_leg.status) == ("filled", "expired")
    position = position_of(db, bot)
    assert (position.status, position.exit_reason) == ("closed", exit_reason)
    # no second sell: Binance's stop is the only sell that ever traded, botdesk sent none
    assert sells_sent(fake) == []
    sold = [t for o in fake.exchange.orders if o.side == "SELL" for t in o.trades]
    assert sold == [trade]
    with db.reading() as session:
        sells = session.exec(
            select(Order).where(Order.side == "sell", col(Order.protection_id).is_(None))
        ).all()
    assert [o.purpose for o in sells] == ["dust"]  # the unsellable rest, written off at 0
    assert_ledger_exact(db, bot)
    assert_holdings_match(db, fake, bot)


def test_a_stop_binance_holds_fills_while_the_engine_is_dead_and_is_booked_once(
    db, tmp_path, processes, fake, replay_file
):
    bot, engine, env, market = open_protected(
        db, tmp_path, processes, fake, replay_file, trailing=None
    )
    (held,) = protections_of(db)
    assert held.take_profit is not None and held.stop_price is not None  # an OCO
    held = kill_fill_restart(db, processes, fake, bot, engine, env, market)
    assert_booked_once(db, fake, bot, held, "stop_loss")


def test_a_trailing_stop_moved_twice_then_filled_while_dead_is_booked_once(
    db, tmp_path, processes, fake, replay_file
):
    bot, engine, env, market = open_protected(
        db, tmp_path, processes, fake, replay_file, trailing="2"
    )
    held = kill_fill_restart(db, processes, fake, bot, engine, env, market)
    rows = protections_of(db)
    assert [row.status for row in rows[:-1]] == ["cancelled"] * (len(rows) - 1)
    stops = [row.stop_price for row in rows]
    assert stops == sorted(stops) and len(set(stops)) == len(stops)  # up only, each a move
    assert rows[-1].id == held.id
    sent = placed(db)
    assert len(sent) >= 3  # placed, then replaced on Binance twice
    on_binance = [kept.list_client_order_id for kept in fake.exchange.order_lists]
    assert on_binance == [row.list_client_order_id for row in sent]  # each placed once
    assert [kept.status for kept in fake.exchange.order_lists[:-1]] == ["ALL_DONE"] * (
        len(sent) - 1
    )
    assert_booked_once(db, fake, bot, held, "trailing_stop")
