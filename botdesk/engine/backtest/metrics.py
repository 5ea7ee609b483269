"""Backtest figures, each defined here once.

- trades: round trips (entry and exit), a position still open at the end included;
- win_rate: share of trades with a P&L above 0 (net of both fees);
- total_return: final equity / initial capital - 1;
- max_drawdown: the largest fall of the equity (at candle closes) from its highest point
  before, as a positive fraction (0.12 = 12%);
- sharpe: mean / standard deviation of the per-candle equity returns, times the square
  root of the candles in a year (crypto trades 24/7, so 365 days); none when flat;
- profit_factor: gross profit / gross loss of the trades; none without a losing trade;
- fees_paid: every fee, in quote.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numba import njit

from botdesk.engine.backtest.trades import Simulation

YEAR_MS = 365 * 86_400_000


@dataclass(frozen=True)
class Metrics:
    candles: int
    trades: int
    win_rate: float | None
    total_return: float
    max_drawdown: float
    sharpe: float | None
    profit_factor: float | None
    fees_paid: Decimal
    final_equity: Decimal


@njit(cache=True)
def _equity_figures(equity: np.ndarray) -> tuple[float, float, float]:
    """(max drawdown, mean and standard deviation of the per-candle returns) in two passes
    over the equity (compiled: a long backtest's figures cost less than its simulation)."""
    count = len(equity)
    peak, drawdown, total = equity[0], 0.0, 0.0
    for i in range(count):
        peak = max(peak, equity[i])
        drawdown = max(drawdown, 1.0 - equity[i] / peak)
        if i:
            total += (equity[i] - equity[i - 1]) / equity[i - 1]
    mean = total / (count - 1) if count > 1 else 0.0
    squares = 0.0
    for i in range(1, count):
        deviation = (equity[i] - equity[i - 1]) / equity[i - 1] - mean
        squares += deviation * deviation
    return drawdown, mean, math.sqrt(squares / (count - 1)) if count > 1 else 0.0


def measure(simulation: Simulation, *, capital: Decimal, candle_ms: int) -> Metrics:
    pnl = simulation.pnl
    equity = simulation.equity
    drawdown, mean, spread = _equity_figures(equity) if len(equity) else (0.0, 0.0, 0.0)
    sharpe = None
    if len(equity) > 2 and spread > 0:
        sharpe = mean / spread * math.sqrt(YEAR_MS / candle_ms)
    losses = float(-pnl[pnl < 0].sum())
    gains = float(pnl[pnl > 0].sum())
    return Metrics(
        candles=len(equity),
        trades=len(pnl),
        win_rate=float((pnl > 0).mean()) if len(pnl) else None,
        total_return=float(simulation.final_equity / Decimal(capital) - 1),
        max_drawdown=max(0.0, drawdown),
        sharpe=sharpe,
        profit_factor=gains / losses if losses > 0 else None,
        fees_paid=simulation.fees,
        final_equity=simulation.final_equity,
    )


def equity_curve(times_ms: np.ndarray, equity: np.ndarray, points: int = 2000) -> list:
    """[[ms, equity], ...] with at most `points` points, first and last included."""
    if len(equity) <= points:
        picks = np.arange(len(equity))
    else:
        picks = np.unique(np.linspace(0, len(equity) - 1, points).astype(np.int64))
    return [[int(times_ms[i]), round(float(equity[i]), 8)] for i in picks]
