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

from botdesk.engine.backtest.exact import to_float
from botdesk.engine.backtest.trades import Simulation

YEAR_MS = 365 * 86_400_000
SAFE_MARGIN = 2.0**-48


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


@njit(cache=True, inline="always", error_model="numpy")  # no zero-division checks: equity > 0
def figure_step(i, value, before, peak, drawdown, deeper, returns):
    """The first pass of `equity_figures` at equity[i] = value (after `before`): (peak,
    drawdown, the level below which a value may deepen it, sum of the returns)."""
    if i == 0:
        return value, 0.0, value * (1.0 + SAFE_MARGIN), 0.0
    if value > peak:
        peak = value
        deeper = peak * (1.0 - drawdown) * (1.0 + SAFE_MARGIN)
    elif value < deeper:
        drawdown = max(drawdown, 1.0 - value / peak)
        deeper = peak * (1.0 - drawdown) * (1.0 + SAFE_MARGIN)
    if value != before:
        returns += (value - before) / before
    return peak, drawdown, deeper, returns


@njit(cache=True, error_model="numpy")  # no zero-division checks: equity > 0
def equity_figures(equity: np.ndarray) -> tuple[float, float, float]:
    """(max drawdown, mean and standard deviation of the per-candle returns) in two passes
    over the equity (compiled: a long backtest's figures cost less than its simulation).
    Where the equity did not move (flat between trades) the terms are known without a
    division: a drawdown of 0 at the peak, a return of 0; a value above the current
    drawdown's level (by a margin of 2**-48, past any rounding) cannot deepen it. The
    figures are the same floats as the plain two passes (`tests`: against them)."""
    peak = drawdown = deeper = total = before = 0.0
    for i in range(len(equity)):
        value = equity[i]
        peak, drawdown, deeper, total = figure_step(i, value, before, peak, drawdown, deeper, total)
        before = value
    return figures_after(equity, drawdown, total)


@njit(cache=True, error_model="numpy")
def figures_after(equity: np.ndarray, drawdown: float, total: float):
    """`equity_figures` from its first pass's drawdown and sum of the returns (the
    compiled core makes them as it writes the equity): the second pass."""
    count = len(equity)
    if count == 0:
        return 0.0, 0.0, 0.0
    mean = total / (count - 1) if count > 1 else 0.0
    still = mean * mean  # the deviation of a return of 0, squared
    squares = 0.0
    for i in range(1, count):
        if equity[i] == equity[i - 1]:
            squares += still
        else:
            deviation = (equity[i] - equity[i - 1]) / equity[i - 1] - mean
            squares += deviation * deviation
    return drawdown, mean, math.sqrt(squares / (count - 1)) if count > 1 else 0.0


def measure(simulation: Simulation, *, capital: Decimal, candle_ms: int) -> Metrics:
    figures = simulation.figures
    return metrics_of(
        simulation.table.pnl,
        equity_figures(simulation.equity) if figures is None else figures,
        candles=len(simulation.equity),
        final_equity=simulation.final_equity,
        fees=simulation.fees,
        capital=capital,
        candle_ms=candle_ms,
    )


def metrics_of(
    pnl_units: np.ndarray,
    figures: tuple[float, float, float],
    *,
    candles: int,
    final_equity: Decimal,
    fees: Decimal,
    capital: Decimal,
    candle_ms: int,
) -> Metrics:
    """The figures from the trades' P&L (units), `equity_figures` of the equity and the
    exact totals: one definition for a single backtest and for each set of a sweep."""
    gained, lost = _gains_and_losses(np.ascontiguousarray(pnl_units, dtype=np.int64))
    drawdown, mean, spread = figures
    sharpe = None
    if candles > 2 and spread > 0:
        sharpe = mean / spread * math.sqrt(YEAR_MS / candle_ms)
    # numpy's sums (pairwise): the same floats as pnl[pnl > 0].sum() and -pnl[pnl < 0].sum()
    losses = float(lost.sum())
    gains = float(gained.sum())
    trades = len(pnl_units)
    return Metrics(
        candles=candles,
        trades=trades,
        win_rate=len(gained) / trades if trades else None,  # (pnl > 0).mean()
        total_return=float(final_equity / Decimal(capital) - 1),
        max_drawdown=max(0.0, drawdown),
        sharpe=sharpe,
        profit_factor=gains / losses if losses > 0 else None,
        fees_paid=fees,
        final_equity=final_equity,
    )


@njit(cache=True)
def _gains_and_losses(pnl_units):
    """The trades' P&L as floats (`pnl_floats`), split in one pass: the gains (above 0)
    and the losses (below 0, negated: a float's negation is exact), each in trade order."""
    count = len(pnl_units)
    gained, lost = np.empty(count, dtype=np.float64), np.empty(count, dtype=np.float64)
    gains = losses = 0
    for k in range(count):
        value = to_float(pnl_units[k])
        if value > 0:
            gained[gains] = value
            gains += 1
        elif value < 0:
            lost[losses] = -value
            losses += 1
    return gained[:gains], lost[:losses]


def equity_curve(times_ms: np.ndarray, equity: np.ndarray, points: int = 2000) -> list:
    """[[ms, equity], ...] with at most `points` points, first and last included."""
    if len(equity) <= points:
        picks = np.arange(len(equity))
    else:
        picks = np.unique(np.linspace(0, len(equity) - 1, points).astype(np.int64))
    return [[int(times_ms[i]), round(float(equity[i]), 8)] for i in picks]
