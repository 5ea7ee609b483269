"""Walk-forward: the windows never let a test window's candles into its training, the
stitched equity chains the test windows exactly, the stored run is what the CLI and the
engine's command produce."""

import threading
from decimal import Decimal

import numpy as np
import pytest

from botdesk.db import walk_forward_runs
from botdesk.engine.backtest.data import load_history
from botdesk.engine.backtest.runs import run_backtest
from botdesk.engine.frames import SignalFrame
from botdesk.engine.research import walk_forward
from botdesk.engine.research.runs import execute_walk_forward, walk_forward_settings
from botdesk.engine.research.studies import StudySettings
from botdesk.engine.research.walk_forward import WalkForwardError, windows
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.ema_cross import EmaCross


class Watching(EmaCross):
    """ema_cross that writes down the candles each call was given."""

    name = "watching"
    title = "Watching"
    seen: list[tuple[int, int]] = []

    def signals(self, candles) -> SignalFrame:
        Watching.seen.append((int(candles.open_time_ms[0]), int(candles.open_time_ms[-1])))
        return super().signals(candles)


@pytest.fixture
def watching():
    registry.register(Watching)
    Watching.seen = []
    yield Watching
    registry.STRATEGIES.pop("watching")
    registry.SOURCES.pop("watching")


SETTINGS = dict(symbol="BTCUSDT", timeframe="5m", data_source="sample", min_trades=1, seed=3)


@pytest.mark.parametrize("anchored", [False, True])
def test_no_test_candle_ever_reaches_its_training(watching, anchored):
    history = load_history("sample", symbol="BTCUSDT", timeframe="5m")
    times = history.candles.open_time_ms
    cuts = windows(len(times), train=500, test=200, step=150, anchored=anchored)
    settings = StudySettings(strategy="watching", **SETTINGS)
    result = walk_forward.run(settings, history, cuts, trials=4)

    trains = {(int(times[w.train_start]), int(times[w.train_end - 1])) for w in cuts}
    tests = {(int(times[w.test_start]), int(times[w.test_end - 1])) for w in cuts}
    # every call saw exactly one training window or one test window, nothing wider
    assert set(Watching.seen) <= trains | tests
    assert set(Watching.seen) >= trains  # every window was trained
    for window, row in zip(cuts, result["windows"], strict=True):
        assert times[window.train_end - 1] < times[window.test_start]
        assert row["train_to_ms"] < row["test_from_ms"]
        assert (row["train_from_ms"] == int(times[0])) is (anchored or window.index == 0)
        assert row["train_candles"] == (window.train_end - window.train_start)


def test_windows_roll_or_grow_and_stop_at_the_end():
    rolling = windows(1000, train=300, test=100)
    assert [(w.train_start, w.train_end, w.test_end) for w in rolling] == [
        (0, 300, 400),
        (100, 400, 500),
        (200, 500, 600),
        (300, 600, 700),
        (400, 700, 800),
        (500, 800, 900),
        (600, 900, 1000),
    ]
    anchored = windows(1000, train=300, test=200, step=250, anchored=True)
    assert [(w.train_start, w.train_end, w.test_end) for w in anchored] == [
        (0, 300, 500),
        (0, 550, 750),
        (0, 800, 1000),
    ]
    with pytest.raises(WalkForwardError, match="do not hold one training window"):
        windows(100, train=90, test=20)


def test_the_stitched_equity_chains_each_test_backtest_exactly():
    history = load_history("sample", symbol="BTCUSDT", timeframe="5m")
    settings = StudySettings(strategy="ema_cross", **SETTINGS)
    cuts = windows(len(history.candles), train=600, test=300)
    result = walk_forward.run(settings, history, cuts, trials=5)
    capital = settings.capital
    equity = []
    for window, row in zip(cuts, result["windows"], strict=True):
        test = walk_forward.part(history, window.test_start, window.test_end)
        request = StudySettings(
            strategy="ema_cross",
            **SETTINGS,
            capital=capital,
            from_ms=test.from_ms,
            to_ms=test.to_ms,
        ).request(row["params"])
        report = run_backtest(request)  # loads its own data
        assert str(report.metrics.final_equity) == row["out_of_sample"]["final_equity"]
        capital = report.metrics.final_equity
        equity.append(report.simulation.equity)
    figures = result["figures"]
    assert figures["final_equity"] == str(capital)
    assert figures["total_return"] == float(capital / Decimal(10000) - 1)
    assert figures["candles"] == sum(len(e) for e in equity) == 300 * len(cuts)
    stitched = np.concatenate(equity)
    assert figures["max_drawdown"] == pytest.approx(
        float((1 - stitched / np.maximum.accumulate(stitched)).max())
    )


def test_a_stored_run_is_run_by_the_engines_command(db):
    from tests.engine.driving import runtime_for
    from tests.engine.test_handlers import run as run_command

    settings = StudySettings(strategy="ema_cross", **SETTINGS)
    with db.writing() as session:
        row, command = walk_forward_runs.create(
            session=session,
            settings=walk_forward_settings(settings, train=800, test=400, trials=3),
            created_by="alice",
            queue=True,
        )
    assert row.status == "queued"
    runtime = runtime_for(db)
    run_command(runtime, command.id)
    for thread in [t for t in threading.enumerate() if t.name.startswith("command-")]:
        thread.join(timeout=120)
    with db.reading() as session:
        done = session.get(type(row), row.id)
        finished = session.get(type(command), command.id)
    assert done.status == "done", done.error
    assert finished.status == "done" and "out-of-sample return" in finished.result
    result = walk_forward_runs.result_of(done)
    assert len(result["windows"]) == (2016 - 800) // 400
    # running it again leaves it alone
    assert execute_walk_forward(db, row.id)[1].endswith("was already done")
