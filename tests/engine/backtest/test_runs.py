"""Running backtests end to end: a loaded history serves many runs (a sweep) without reading
its file again and gives the same report; a run remembers how it was sized."""

import json
import shutil
from decimal import Decimal

import pytest

from botdesk.db import risk_limits
from botdesk.db.models import BacktestRun
from botdesk.engine.backtest.data import load_history
from botdesk.engine.backtest.metrics import equity_figures
from botdesk.engine.backtest.runs import (
    BacktestError,
    BacktestRequest,
    execute_stored_run,
    new_run,
    request_of,
    run_backtest,
)
from botdesk.engine.backtest.sizing import ALL_CASH, RISK, Sizing
from botdesk.engine.indicators.shared import shared_results
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")


def _request(path, **fields) -> BacktestRequest:
    base = {"params": {"fast": 9, "slow": 21}, "symbol": "BTCUSDT", "timeframe": "1h"}
    return BacktestRequest(strategy="ema_cross", data_source=str(path), **(base | fields))


def test_a_sweep_loads_the_history_once_and_each_run_is_the_same_as_alone(tmp_path):
    path = tmp_path / "BTCUSDT-1h.csv"
    shutil.copyfile(SHARED_DATA / "BTCUSDT-1h.csv", path)
    alone = {
        fast: run_backtest(_request(path, params={"fast": fast, "slow": 21})) for fast in (5, 9, 13)
    }
    history = load_history(str(path), symbol="BTCUSDT", timeframe="1h")
    path.unlink()  # the runs below cannot read it again
    with shared_results():
        for fast in (5, 9, 13):
            swept = run_backtest(_request(path, params={"fast": fast, "slow": 21}), history=history)
            assert swept.trade_rows() == alone[fast].trade_rows()
            assert swept.metrics == alone[fast].metrics
    with pytest.raises(BacktestError, match="the loaded history is"):
        run_backtest(_request(path, timeframe="4h"), history=history)


def test_a_stored_run_is_rerun_with_the_sizing_it_was_created_with(db):
    with db.writing() as session:
        risk_limits.set_limit(
            session=session, kind="risk_per_trade", value="1", bot_id=None, by="t"
        )
    request = _request(
        SHARED_DATA / "BTCUSDT-1h.csv",
        params={"fast": 9, "slow": 21, "stop_atr": 2},
        sizing=Sizing(RISK, Decimal(1), None),
    )
    with db.writing() as session:
        run = new_run(request, created_by="t")
        session.add(run)
    with db.writing() as session:  # the desk's limit changes after the run was created
        risk_limits.set_limit(
            session=session, kind="risk_per_trade", value="5", bot_id=None, by="t"
        )
    execute_stored_run(db, run.id)
    with db.reading() as session:
        stored = session.get(BacktestRun, run.id)
    assert (stored.sizing, stored.risk_per_trade, stored.max_position_notional) == (
        RISK,
        Decimal(1),
        None,
    )
    assert request_of(stored).sizing == Sizing(RISK, Decimal(1), None)
    expected = run_backtest(request)
    assert json.loads(stored.trade_list) == expected.trade_rows()
    all_cash = run_backtest(_request(SHARED_DATA / "BTCUSDT-1h.csv", sizing=Sizing(ALL_CASH)))
    assert all_cash.trade_rows()[0]["quantity"] != expected.trade_rows()[0]["quantity"]


def _plain_figures(equity) -> tuple[float, float, float]:
    """The equity figures as two plain passes compute them (what `equity_figures` skips
    work against)."""
    peak, drawdown, total = equity[0], 0.0, 0.0
    for i in range(len(equity)):
        peak = max(peak, equity[i])
        drawdown = max(drawdown, 1.0 - equity[i] / peak)
        if i:
            total += (equity[i] - equity[i - 1]) / equity[i - 1]
    mean = total / (len(equity) - 1)
    squares = 0.0
    for i in range(1, len(equity)):
        deviation = (equity[i] - equity[i - 1]) / equity[i - 1] - mean
        squares += deviation * deviation
    return drawdown, mean, (squares / (len(equity) - 1)) ** 0.5


@pytest.mark.parametrize("fast, slow, stop_atr", [(9, 21, 0), (3, 30, 1.5), (20, 100, 3)])
def test_the_equity_figures_are_those_of_two_plain_passes(fast, slow, stop_atr):
    params = {"fast": fast, "slow": slow, "stop_atr": stop_atr}
    report = run_backtest(_request(SHARED_DATA / "BTCUSDT-1h.csv", params=params))
    equity = report.simulation.equity.tolist()
    assert equity_figures(report.simulation.equity) == _plain_figures(equity)
    assert report.simulation.figures == _plain_figures(equity)  # the core's first pass
    assert report.metrics.max_drawdown > 0
