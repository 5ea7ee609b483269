"""Multi-timeframe strategies in the live engine (its market data and bot runner on the
replayed real candles, a real database) give the backtest's signals, candle for candle;
the higher candles are built once per pass for all the bots of a window; a bot whose
timeframe cannot build what its strategy reads goes to error with the reason."""

import numpy as np
from sqlmodel import col, func, select

from botdesk.db.models import Bot, BotState, EquitySnapshot, Signal
from botdesk.engine import higher
from botdesk.engine.frames import BUY, SELL
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.safe import evaluate
from botdesk.engine.timeframes import aggregate
from tests.engine.driving import Driver, runtime_for, sample
from tests.engine.higher_strategies import HourlyTrend
from tests.factories import make_bot

RUNNING = BotState.RUNNING
SIDES = {BUY: "buy", SELL: "sell"}


def _live_signals(db, bot_id: int) -> tuple[list[tuple[int, str]], int, int]:
    """The bot's stored strategy signals (candle, side), and the first and last candle
    it processed."""
    with db.reading() as session:
        rows = session.exec(
            select(Signal.candle_open_ms, Signal.side)
            .where(Signal.bot_id == bot_id)
            .order_by(col(Signal.candle_open_ms))
        ).all()
        first, last = session.exec(
            select(
                func.min(EquitySnapshot.candle_open_ms), func.max(EquitySnapshot.candle_open_ms)
            ).where(EquitySnapshot.bot_id == bot_id)
        ).one()
    return [tuple(row) for row in rows], first, last


def _backtest_signals(strategy, candles, interval_ms, first, last) -> list[tuple[int, str]]:
    frame = evaluate(strategy, candles, interval_ms=interval_ms)
    rows = np.flatnonzero(
        (frame.side != 0) & (candles.open_time_ms >= first) & (candles.open_time_ms <= last)
    )
    return [(int(candles.open_time_ms[t]), SIDES[int(frame.side[t])]) for t in rows]


def test_a_5m_bot_reading_15m_and_1h_signals_live_as_in_the_backtest(db, monkeypatch):
    registry.register(HourlyTrend)
    builds = []
    original = higher.closed_candles
    monkeypatch.setattr(
        "botdesk.engine.batch.plans.closed_candles",
        lambda *args: builds.append(args[1]) or original(*args),
    )
    try:
        bots = [
            make_bot(db, strategy="hourly_trend", symbol="ETHUSDT", timeframe="5m",
                     state=RUNNING, params={"stop_atr": 0})
            for _ in range(3)
        ]  # fmt: skip
        plain = make_bot(db, strategy="ema_cross", symbol="ETHUSDT", timeframe="5m", state=RUNNING)
        data = {"ETHUSDT": sample("ETHUSDT")[:2400]}
        driver = Driver(runtime_for(db), data)
        passes = driver.run(1800)
    finally:
        registry.STRATEGIES.pop("hourly_trend", None)
        registry.SOURCES.pop("hourly_trend", None)
    assert passes == 4 * 360  # every 5m candle of every bot, once
    candles = aggregate(data["ETHUSDT"], "5m")
    for bot in bots:
        live, first, last = _live_signals(db, bot.id)
        expected = _backtest_signals(HourlyTrend(), candles, 300_000, first, last)
        assert len(expected) >= 15 and {side for _, side in expected} == {"buy", "sell"}
        assert live == expected
    with db.reading() as session:
        assert session.get(Bot, plain.id).status == RUNNING
    # the three bots share one window: each timeframe built once per pass, not per bot
    # (a pass that processed a 5m candle), and never for the ema_cross bot
    assert len(builds) == 2 * 360
    assert builds.count("15m") == builds.count("1h") == 360


def test_the_confluence_strategy_as_a_paper_bot_signals_as_in_the_backtest(db):
    params = {"timeframes": "5m,15m", "entry_score": 55, "exit_score": 30, "stop_atr": 2}
    bot = make_bot(db, strategy="confluence", symbol="BTCUSDT", state=RUNNING, params=params)
    data = {"BTCUSDT": sample("BTCUSDT")[:2200]}
    Driver(runtime_for(db), data).run(1600)
    live, first, last = _live_signals(db, bot.id)
    strategy = registry.create("confluence", params)
    expected = _backtest_signals(strategy, data["BTCUSDT"], 60_000, first, last)
    assert len([s for s in expected if s[1] == "buy"]) >= 10
    assert len([s for s in expected if s[1] == "sell"]) >= 3
    assert live == expected
    with db.reading() as session:
        row = session.get(Bot, bot.id)
        reasons = session.exec(select(Signal.reason).where(Signal.bot_id == bot.id)).all()
    assert row.status == RUNNING
    assert all(reason.startswith("confluence ") for reason in reasons)


def test_a_bot_whose_timeframe_cannot_build_what_its_strategy_reads_goes_to_error(db):
    too_short = make_bot(
        db, strategy="confluence", symbol="SOLUSDT", timeframe="15m", state=RUNNING,
        params={"timeframes": "5m,15m"},
    )  # fmt: skip
    too_long = make_bot(
        db, strategy="confluence", symbol="SOLUSDT", timeframe="1m", state=RUNNING,
        params={"timeframes": "1h,4h"},
    )  # fmt: skip
    Driver(runtime_for(db), {"SOLUSDT": sample("SOLUSDT")[:1000]}).run(30)
    with db.reading() as session:
        short, long_ = session.get(Bot, too_short.id), session.get(Bot, too_long.id)
    assert short.status == BotState.ERROR
    assert "5m candles cannot be built from 15m candles" in short.status_reason
    assert long_.status == BotState.ERROR
    assert "needs 12720 1m candles of history" in long_.status_reason
