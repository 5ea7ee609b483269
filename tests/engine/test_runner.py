"""Bots trading replayed real candles in-process (the engine's market data and runner on
a real database): signals, orders, fills, positions, equity; the books add up exactly;
paper trading equals the backtest; a failing strategy stops only its own bot."""

from decimal import Decimal

import numpy as np
from sqlmodel import col, func, select

from botdesk.db.models import (
    Bot,
    BotState,
    EquitySnapshot,
    Fill,
    Order,
    OrderStatus,
    Position,
    Signal,
)
from botdesk.engine import accounts
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.strategies import registry
from tests.engine.batch.test_acting_reads import Statements
from tests.engine.driving import Driver, runtime_for, sample
from tests.engine.test_strategies import Exploding
from tests.factories import make_bot

RUNNING = BotState.RUNNING


def _count(db, model, *where) -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_bots_trade_and_the_books_equal_a_recompute_from_the_fills(db):
    bots = [
        make_bot(
            db,
            strategy="ema_cross",
            symbol="BTCUSDT",
            state=RUNNING,
            params={"fast": 5, "slow": 13, "stop_atr": 1.5},
        ),
        make_bot(
            db,
            strategy="rsi_reversion",
            symbol="ETHUSDT",
            state=RUNNING,
            params={"period": 9, "oversold": 35, "overbought": 65, "stop_atr": 2},
        ),
        make_bot(
            db,
            strategy="bollinger_breakout",
            symbol="SOLUSDT",
            state=RUNNING,
            timeframe="5m",
            params={"period": 12, "stddev": 1.5, "stop_atr": 1},
        ),
    ]
    data = {symbol: sample(symbol) for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}
    driver = Driver(runtime_for(db, slippage_bps="3"), data)
    processed = driver.run(800)
    assert processed == 800 + 800 + 160  # every candle of every bot, once
    for bot in bots:
        assert _count(db, EquitySnapshot, EquitySnapshot.bot_id == bot.id) == (
            160 if bot.timeframe == "5m" else 800
        )
        assert _count(db, Fill, Fill.bot_id == bot.id) >= 10
        with db.reading() as session:
            row = session.get(Bot, bot.id)
            assert row.status == RUNNING
            assert accounts.discrepancies(session=session, bot=row) == []
    with db.reading() as session:
        reasons = {p.exit_reason for p in session.exec(select(Position)).all()}
    assert {"exit", "stop_loss"} <= reasons
    # every order was filled, or cancelled/rejected with a reason; none is stranded
    with db.reading() as session:
        orders = session.exec(select(Order)).all()
    stale = [
        o
        for o in orders
        if o.status in ("new", "open")
        and o.candle_open_ms is not None
        and o.candle_open_ms < int(data["BTCUSDT"].open_time_ms[driver.position - 2])
    ]
    assert stale == []
    assert all(o.status_reason for o in orders if o.status in ("cancelled", "rejected"))


def test_paper_trading_makes_the_same_trades_as_the_backtest(db):
    params = {"fast": 5, "slow": 13, "stop_atr": 1.5}
    make_bot(db, strategy="ema_cross", symbol="SOLUSDT", state=RUNNING, params=params)
    data = {"SOLUSDT": sample("SOLUSDT")[:1800]}
    driver = Driver(runtime_for(db, slippage_bps="2"), data)
    driver.run(1200)
    with db.reading() as session:
        fills = session.exec(select(Fill).order_by(col(Fill.id))).all()
        orders = {o.id: o for o in session.exec(select(Order)).all()}
        cursor_start = session.exec(select(func.min(EquitySnapshot.candle_open_ms))).one()
    candles = data["SOLUSDT"]
    signals = registry.create("ema_cross", params).signals(candles)
    started = int(np.searchsorted(candles.open_time_ms, cursor_start))  # first live candle
    signals.side[:started] = 0  # the bot was not trading before its first candle
    result = simulate(
        candles,
        signals,
        fee_rate=Decimal("0.001"),
        slippage_bps=Decimal("2"),
        capital=Decimal(10000),
    )
    closed = [t for t in result.trades if t.exit_reason != "end_of_data"]
    buys = [f for f in fills if f.side == "buy"]
    sells = [f for f in fills if f.side == "sell"]
    assert len(closed) >= 20
    assert [(f.price, f.quantity) for f in sells] == [(t.exit_price, t.quantity) for t in closed]
    assert [b.price for b in buys][: len(closed)] == [t.entry_price for t in closed]
    assert [orders[f.order_id].purpose for f in sells] == [t.exit_reason for t in closed]
    live_pnl = sum(f.realized_pnl for f in fills[: 2 * len(closed)])
    assert live_pnl == sum(t.pnl for t in closed)


def test_a_failing_strategy_puts_only_its_bot_in_error(db):
    registry.register(Exploding)
    try:
        bad = make_bot(db, strategy="exploding", params={"stop_atr": 0}, state=RUNNING)
        good = make_bot(db, strategy="ema_cross", state=RUNNING)
        broken_json = make_bot(db, strategy="ema_cross", state=RUNNING, symbol="BTCUSDT")
        with db.writing() as session:
            session.get(Bot, broken_json.id).params = '{"fast": 30, "slow": 20'
        driver = Driver(runtime_for(db), {"BTCUSDT": sample("BTCUSDT")[:700]})
        driver.run(5)
    finally:
        registry.STRATEGIES.pop("exploding", None)
    with db.reading() as session:
        bad_row, good_row = session.get(Bot, bad.id), session.get(Bot, good.id)
        json_row = session.get(Bot, broken_json.id)
    assert bad_row.status == BotState.ERROR
    assert "strategy exploding raised KeyError: 'missing'" in bad_row.status_reason
    assert json_row.status == BotState.ERROR
    assert "parameters are not valid JSON" in json_row.status_reason
    assert good_row.status == RUNNING
    assert good_row.last_candle_ms == int(sample("BTCUSDT").open_time_ms[604])


def test_a_bot_started_late_trades_from_the_next_candle_only(db):
    driver = Driver(runtime_for(db), {"ETHUSDT": sample("ETHUSDT")[:900]})
    driver.run(100)
    bot = make_bot(db, strategy="ema_cross", symbol="ETHUSDT", state=RUNNING)
    driver.run(50)
    with db.reading() as session:
        first = session.exec(
            select(func.min(EquitySnapshot.candle_open_ms)).where(EquitySnapshot.bot_id == bot.id)
        ).one()
        signals = session.exec(select(Signal).where(Signal.bot_id == bot.id)).all()
    # its first pass only set the cursor on candle 700, the newest when it was seen
    assert first == int(sample("ETHUSDT").open_time_ms[701])
    assert all(s.candle_open_ms >= first for s in signals)
    assert _count(db, EquitySnapshot, EquitySnapshot.bot_id == bot.id) == 49


def test_groups_catching_up_take_turns_candle_by_candle(db):
    """Two (symbol, timeframe) groups, each 30 candles behind, a minute apart: the pass
    takes them in turns, a candle each, instead of one group's whole catch-up before the
    other's."""
    btc = make_bot(db, strategy="ema_cross", symbol="BTCUSDT", state=RUNNING)
    eth = make_bot(db, strategy="ema_cross", symbol="ETHUSDT", state=RUNNING)
    data = {"BTCUSDT": sample("BTCUSDT")[:700], "ETHUSDT": sample("ETHUSDT")[1:701]}
    driver = Driver(runtime_for(db), data)
    assert driver.step(30) == 60
    batches = driver.runner.last_pass.batches
    assert [batch.processed for batch in batches] == [[btc.id], [eth.id]] * 30
    opened = [int(open_ms) for open_ms in data["BTCUSDT"].open_time_ms[600:630]]
    assert [batch.candle_open_ms for batch in batches[::2]] == opened


def test_groups_on_the_same_candle_share_its_batch(db):
    """Two symbols' bots of one timeframe catching up on the same minutes: each minute's
    two candles are processed in one batch (one transaction, one update of the bots'
    cursors), each bot on its own symbol's candle."""
    fast = {"fast": 2, "slow": 3, "stop_atr": 0}
    btc = make_bot(db, strategy="ema_cross", symbol="BTCUSDT", params=fast, state=RUNNING)
    eth = make_bot(db, strategy="ema_cross", symbol="ETHUSDT", params=fast, state=RUNNING)
    data = {symbol: sample(symbol)[:700] for symbol in ("BTCUSDT", "ETHUSDT")}
    driver = Driver(runtime_for(db), data)
    with Statements(db.engine) as seen:
        assert driver.step(30) == 60
    batches = driver.runner.last_pass.batches
    assert [batch.processed for batch in batches] == [[btc.id, eth.id]] * 30
    opened = [int(open_ms) for open_ms in data["BTCUSDT"].open_time_ms[600:630]]
    assert [batch.candle_open_ms for batch in batches] == opened
    assert seen.count("UPDATE bot SET last_candle_ms") == 30
    with db.reading() as session:
        for bot, symbol in ((btc, "BTCUSDT"), (eth, "ETHUSDT")):
            prices = session.exec(select(Signal.price).where(Signal.bot_id == bot.id)).all()
            closes = {Decimal(str(close)) for close in data[symbol].close[600:630]}
            assert prices and set(prices) <= closes, symbol  # its own symbol's candles


def test_signals_are_stored_with_their_outcome(db):
    bot = make_bot(
        db,
        strategy="ema_cross",
        symbol="BTCUSDT",
        state=RUNNING,
        params={"fast": 3, "slow": 8, "stop_atr": 0},
    )
    Driver(runtime_for(db), {"BTCUSDT": sample("BTCUSDT")[:1000]}).run(400)
    with db.reading() as session:
        signals = session.exec(select(Signal).where(Signal.bot_id == bot.id)).all()
        orders = session.exec(select(Order).where(Order.bot_id == bot.id)).all()
    assert len(signals) > 20
    assert {s.status for s in signals} <= {"accepted", "ignored"}
    accepted = [s for s in signals if s.status == "accepted"]
    assert sorted(o.signal_id for o in orders) == sorted(s.id for s in accepted)
    assert all(o.client_order_id == f"bd-{bot.id}-s{o.signal_id}" for o in orders)
    assert all(s.dedupe_key == f"c:{s.candle_open_ms}" for s in signals)
    assert all(s.reason.startswith("EMA 3 crossed") for s in signals)
    assert all(o.status == OrderStatus.FILLED for o in orders[:-1])
