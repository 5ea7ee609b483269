"""The lookahead and warm-up check: a shift(-1) is caught, a causal strategy passes, and
what a strategy needs before it signals as on the whole history is measured."""

import numpy as np
import pytest

from botdesk.engine.frames import SignalFrame
from botdesk.engine.research import gate
from botdesk.engine.research.lookahead import LIVE_WINDOW, CheckError, check
from botdesk.engine.strategies import loader, registry
from botdesk.engine.strategies.base import Strategy
from tests.engine.driving import sample
from tests.engine.limit_strategy import LimitEmaCross
from tests.engine.research.strategy_files import CLEAN, PEEKING, write

BTC = sample("BTCUSDT")


@pytest.fixture
def user_strategies(tmp_path):
    write(tmp_path, "next_close", PEEKING)
    write(tmp_path, "over_sma", CLEAN.format(name="over_sma"))
    loader.load_user_strategies(tmp_path, packages=False)
    yield
    loader.load_user_strategies(None, packages=False)


def test_a_shift_minus_one_is_caught_at_the_rows_it_changes(user_strategies):
    strategy = registry.create("next_close")
    report = check(strategy, BTC[:3000])
    assert report.lookahead
    whole = strategy.signals(BTC[:3000])
    for change in report.changes:
        # every reported row: the whole history's answer there is not the cut one's
        assert change.cut_after == change.row  # the last candle of the cut is where it shows
        assert whole.side[change.row] == change.whole != change.cut
        assert change.time_ms == BTC.open_time_ms[change.row]
    assert "LOOKAHEAD" in report.summary()


@pytest.mark.parametrize("name", ["over_sma", "ema_cross", "rsi_reversion", "macd_trend"])
def test_causal_strategies_pass(user_strategies, name):
    report = check(registry.create(name), BTC[:3000])
    assert not report.lookahead, report.changes[:3]
    assert report.cuts >= 20
    assert report.cut_errors == []


def test_warm_up_is_what_the_signals_need_to_agree_with_the_whole_history(user_strategies):
    """An SMA of n closes forgets everything older: over_sma signals as on the whole
    history from its n-th candle on (the cross needs the candle before), never sooner
    than n-1; an EMA remembers its seed, so it needs more than its period."""
    sma = check(registry.create("over_sma", {"period": 50}), BTC[:4000])
    assert sma.warmup_needed is not None and 1 <= sma.warmup_needed <= 51
    ema = check(registry.create("ema_cross", {"fast": 9, "slow": 50}), BTC[:4000])
    assert ema.warmup_needed is not None and ema.warmup_needed <= LIVE_WINDOW


class SinceTheStart(Strategy):
    """Buys at a new high of the whole history so far: causal, but it never forgets."""

    name = "since_the_start"
    title = "New high"

    @property
    def lookback(self):
        return 1

    def signals(self, candles):
        high = np.maximum.accumulate(candles.close)
        at_high = candles.close >= high
        before = np.concatenate([[False], at_high[:-1]])
        return SignalFrame.build(
            len(candles), buy=at_high & ~before, sell=~at_high & before, confidence=1.0
        )


def test_a_strategy_that_remembers_everything_is_warned_but_not_lookahead():
    report = check(SinceTheStart(), BTC)
    assert not report.lookahead
    assert report.warmup_needed is None or report.warmup_needed > LIVE_WINDOW
    assert report.warnings(), "a live bot's 600 candles cannot give the backtest's signals"


def test_too_little_history_is_refused():
    with pytest.raises(CheckError, match="at least 50 candles"):
        check(registry.create("ema_cross"), BTC[:20])


def test_the_gate_refuses_a_peeking_user_strategy_and_lets_the_rest_through(user_strategies):
    assert "failed the lookahead check" in gate.lookahead_refusal("next_close", "{}")
    assert gate.lookahead_refusal("over_sma", '{"period": 30}') is None
    assert gate.report_for("ema_cross") is None  # built-ins are pinned by their own tests


class PeekingLimit(Strategy):
    """ema_cross's sides, with a buy limit at the next candle's low: it always fills."""

    name = "peeking_limit"

    @property
    def lookback(self) -> int:
        return 22

    def signals(self, candles):
        frame = registry.create("ema_cross", {"stop_atr": 0}).signals(candles)
        next_low = np.r_[candles.low[1:], candles.low[-1]]
        return frame.with_limits(next_low, 1)


def test_a_limit_price_that_reads_the_next_candle_is_lookahead():
    report = check(PeekingLimit(), BTC[:3000])
    assert report.lookahead
    assert {change.column for change in report.changes} == {"limit"}
    assert check(LimitEmaCross(), BTC[:3000]).changes == []  # a limit off the close is causal
