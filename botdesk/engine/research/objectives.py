"""What an optimisation maximises, each computed from one backtest report and defined
here once (the backtest's own figures are in `botdesk.engine.backtest.metrics`):

- sharpe: the backtest's Sharpe ratio (per-candle equity returns, annualised);
- sortino: mean per-candle equity return / downside deviation (the root mean square of
  the returns below 0, over all candles), annualised like Sharpe;
- profit_factor: gross profit / gross loss of the trades;
- return_over_drawdown: total return / max drawdown;
- expectancy: the mean net P&L of a trade, in quote.

A backtest with fewer trades than the optimisation's minimum, or where the figure is not
defined (no losing trade for the profit factor, no drawdown, flat equity), has no value:
the trial is pruned with the reason.
"""

import math
from dataclasses import dataclass

import numpy as np

from botdesk.engine.backtest.metrics import YEAR_MS
from botdesk.engine.backtest.runs import BacktestReport
from botdesk.engine.timeframes import timeframe_ms

OBJECTIVES = ("sharpe", "sortino", "profit_factor", "return_over_drawdown", "expectancy")


class NoValue(ValueError):
    """The objective is not defined for this backtest; the message says why."""


@dataclass(frozen=True)
class Figures:
    trades: int
    total_return: float
    max_drawdown: float
    win_rate: float | None
    sharpe: float | None
    sortino: float | None
    profit_factor: float | None
    return_over_drawdown: float | None
    expectancy: float | None
    final_equity: str  # exact, as the backtest gives it

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def figures(report: BacktestReport) -> Figures:
    metrics = report.metrics
    pnl = report.simulation.pnl
    drawdown = metrics.max_drawdown
    return Figures(
        trades=metrics.trades,
        total_return=metrics.total_return,
        max_drawdown=drawdown,
        win_rate=metrics.win_rate,
        sharpe=metrics.sharpe,
        sortino=sortino(report.simulation.equity, timeframe_ms(report.request.timeframe)),
        profit_factor=metrics.profit_factor,
        return_over_drawdown=metrics.total_return / drawdown if drawdown > 0 else None,
        expectancy=float(pnl.mean()) if len(pnl) else None,
        final_equity=str(metrics.final_equity),
    )


def sortino(equity: np.ndarray, candle_ms: int) -> float | None:
    if len(equity) < 3:
        return None
    returns = np.diff(equity) / equity[:-1]
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0:
        return None
    return float(returns.mean()) / downside * math.sqrt(YEAR_MS / candle_ms)


def value_of(found: Figures, objective: str, min_trades: int) -> float:
    """The objective's value, or NoValue with the reason."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} is not one of {', '.join(OBJECTIVES)}")
    if found.trades < min_trades:
        raise NoValue(f"{found.trades} trades, fewer than the minimum {min_trades}")
    value = getattr(found, objective)
    if value is None or not math.isfinite(value):
        raise NoValue(f"{objective} is not defined for this backtest ({_why(objective)})")
    return float(value)


def _why(objective: str) -> str:
    return {
        "sharpe": "flat equity",
        "sortino": "no losing candle",
        "profit_factor": "no losing trade",
        "return_over_drawdown": "no drawdown",
        "expectancy": "no trade",
    }[objective]
