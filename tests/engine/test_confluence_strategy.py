"""The confluence strategy on real 5m klines: its score at a candle is the analysis's
confluence of the closed candles of each timeframe; nothing at candle t changes when the
candles after t are removed; it backtests, and the lookahead check (the CLI's too) finds
nothing; it lists among the strategies."""

from decimal import Decimal

import numpy as np
import pytest
from click.testing import CliRunner

from botdesk.cli import main
from botdesk.engine.analysis.confluence import closed_by, confluence
from botdesk.engine.backtest.runs import BacktestRequest, run_backtest
from botdesk.engine.frames import BUY, SELL
from botdesk.engine.higher import with_higher
from botdesk.engine.indicators import BULLISH
from botdesk.engine.klines import load_klines
from botdesk.engine.research.lookahead import check
from botdesk.engine.research.space import dimensions
from botdesk.engine.strategies import confluence as strategy_module
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.registry import InvalidParams
from botdesk.engine.strategies.safe import evaluate
from botdesk.engine.timeframes import aggregate, timeframe_ms
from botdesk.settings import get_settings
from tests.conftest import SHARED_DATA

BTC_5M = SHARED_DATA / "BTCUSDT-5m.csv"
FIVE_MINUTES = 300_000
PARAMS = {"timeframes": "15m,1h", "entry_score": 55, "exit_score": 30}
pytestmark = pytest.mark.skipif(not BTC_5M.exists(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def candles():
    return load_klines(BTC_5M).candles[:1600]


@pytest.fixture
def fresh_scores():
    """No score kept from an earlier evaluation: each one computed from its candles."""
    strategy_module._MEMO.clear()
    yield
    strategy_module._MEMO.clear()


def test_the_score_at_a_candle_is_the_analysis_confluence_of_the_closed_candles(
    candles, fresh_scores
):
    strategy = registry.create("confluence", PARAMS)
    score, trend = strategy.scores(with_higher(candles, ("15m", "1h"), interval_ms=FIVE_MINUTES))
    assert np.isnan(score[: 50 * 12 - 1]).all()  # 50 closed hours are needed first
    ready = np.flatnonzero(~np.isnan(score))
    assert len(ready) > 900
    frames = {tf: aggregate(candles, tf, source_interval_ms=FIVE_MINUTES) for tf in ("15m", "1h")}
    for t in ready[:: len(ready) // 12]:
        as_of = int(candles.open_time_ms[t]) + FIVE_MINUTES  # t's close
        read = {"5m": candles[t - 49 : t + 1]}
        for tf, frame in frames.items():
            read[tf] = closed_by(frame, tf, as_of).tail(50)
            assert read[tf].last_open_ms + timeframe_ms(tf) <= as_of  # closed by then
        expected = confluence(read, as_of_ms=as_of, direction=BULLISH)
        assert score[t] == pytest.approx(expected.score, abs=1e-9)
        assert trend[t] == pytest.approx(expected.trend_sum, abs=1e-9)


def test_signals_at_t_are_unchanged_when_the_later_candles_are_removed(candles, fresh_scores):
    strategy = registry.create("confluence", PARAMS)
    whole = evaluate(strategy, candles, interval_ms=FIVE_MINUTES)
    whole_score, _ = strategy.scores(candles)
    assert (whole.side == BUY).sum() >= 5 and (whole.side == SELL).sum() >= 3
    for cut in (700, 1013, 1390):
        strategy_module._MEMO.clear()  # computed again from the cut candles alone
        part = evaluate(strategy, candles[: cut + 1], interval_ms=FIVE_MINUTES)
        assert np.array_equal(part.side, whole.side[: cut + 1])
        assert np.array_equal(part.confidence, whole.confidence[: cut + 1])
        assert np.allclose(part.stop, whole.stop[: cut + 1], equal_nan=True, rtol=1e-12)
        strategy_module._MEMO.clear()
        score, _ = strategy.scores(candles[: cut + 1])
        assert np.array_equal(score, whole_score[: cut + 1], equal_nan=True)
    report = check(strategy, candles, cuts=24, starts=4)
    assert not report.lookahead, report.changes[:3]
    assert report.cuts >= 20


def test_the_documented_rule_buys_on_entering_and_sells_on_leaving(candles):
    strategy = registry.create("confluence", PARAMS)
    frame = evaluate(strategy, candles, interval_ms=FIVE_MINUTES)
    score, trend = strategy.scores(candles)
    with np.errstate(invalid="ignore"):
        entering = (trend > 0) & (score >= 55)
        leaving = score < 30
    buys = np.flatnonzero(frame.side == BUY)
    sells = np.flatnonzero(frame.side == SELL)
    assert buys.tolist() == np.flatnonzero(entering & ~np.r_[False, entering[:-1]]).tolist()
    assert sells.tolist() == np.flatnonzero(leaving & ~np.r_[False, leaving[:-1]]).tolist()
    assert np.allclose(frame.confidence[buys], score[buys] / 100)
    assert (frame.stop[buys] < candles.close[buys]).all()  # stop_atr 2 by default
    assert frame.reason[int(buys[0])] == f"confluence {score[buys[0]]:.0f} >= 55"


def test_it_backtests_on_5m_klines_with_trades_entered_after_its_buys(candles):
    request = BacktestRequest(
        strategy="confluence",
        params=PARAMS,
        symbol="BTCUSDT",
        timeframe="5m",
        data_source=str(BTC_5M),
        to_ms=int(candles.open_time_ms[-1]),
        fee_rate=Decimal("0.001"),
    )
    report = run_backtest(request)
    assert report.metrics.trades >= 3
    frame = evaluate(registry.create("confluence", PARAMS), candles, interval_ms=FIVE_MINUTES)
    buy_times = set(candles.open_time_ms[np.flatnonzero(frame.side == BUY) + 1].tolist())
    entries = [row["entry_time_ms"] for row in report.trade_rows()]
    assert entries and set(entries) <= buy_times


def test_parameters_are_checked_and_searchable():
    with pytest.raises(InvalidParams, match="exit_score must be below entry_score"):
        registry.validate_params("confluence", {"entry_score": 50, "exit_score": 50})
    with pytest.raises(InvalidParams, match="timeframes"):
        registry.validate_params("confluence", {"timeframes": "1h,2h"})
    space = {d.name: d for d in dimensions(registry.get("confluence").Params)}
    assert "15m,1h,4h" in space["timeframes"].choices
    assert (space["entry_score"].low, space["entry_score"].high) == (30, 95)
    assert (space["exit_score"].low, space["exit_score"].high) == (5, 80)
    strategy = registry.create("confluence", {"timeframes": "15m,1h,4h"})
    assert strategy.higher_timeframes == ("15m", "1h", "4h")
    assert strategy.candles_needed(FIVE_MINUTES) == 53 * 48  # 52 closed 4h candles and one


def test_the_cli_lists_it_and_its_check_finds_no_lookahead(tmp_path, monkeypatch):
    monkeypatch.setenv("BOTDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'botdesk.db'}")
    get_settings.cache_clear()
    lines = BTC_5M.read_text().splitlines()
    path = tmp_path / "BTCUSDT-5m.csv"
    path.write_text("\n".join(lines[:1301]) + "\n")
    runner = CliRunner()
    try:
        listed = runner.invoke(main, ["strategy", "list"], catch_exceptions=False)
        checked = runner.invoke(
            main,
            ["strategy", "check", "confluence", "--data", str(path), "--params",
             '{"timeframes": "15m,1h"}', "--cuts", "20"],
            catch_exceptions=False,
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert "confluence" in listed.output and "Multi-timeframe confluence" in listed.output
    assert checked.exit_code == 0, checked.output
    assert "on 1,300 candles" in checked.output
    assert "no lookahead in" in checked.output
    assert "gave no signal" not in checked.output
    # its defaults read 4h candles: 1,300 5m candles never hold 50 of them, and it says so
    idle = runner.invoke(main, ["strategy", "check", "confluence", "--data", str(path)])
    assert idle.exit_code == 0, idle.output
    assert "warning: it gave no signal on these candles" in idle.output
