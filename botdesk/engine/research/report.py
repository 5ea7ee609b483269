"""What a backtest report adds to the figures, each defined here once:

- buy_and_hold: the capital spent at the first candle's open (slippage and fee paid on
  the way in, the quantity rounded down to 8 decimals) and held to the last close, where
  it is valued after the slippage and fee of a sale; its return, max drawdown (at the
  closes) and curve, on the same candles as the backtest;
- by_exit_reason / by_entry_signal: trades, winners, win rate, net P&L (exact) and mean
  return per exit reason (exit, stop_loss, take_profit, end_of_data) and per entry signal
  (the reason the strategy gave on the candle before the entry fill);
- monthly: the equity's return in each calendar month (UTC), from the last close of the
  month before (or the capital) to the month's last close;
- marks: the trades' entries and exits (time, price, reason) and the closes they sit on
  (at most `POINTS`), for a price chart.
"""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

import numpy as np

from botdesk.db.types import MONEY_UNIT
from botdesk.engine.backtest.metrics import equity_curve
from botdesk.engine.fill_rules import BASIS_POINT
from botdesk.engine.frames import to_decimal
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.safe import StrategyError, evaluate

POINTS = 2000
MAX_MARKS = 5000


def additions(report) -> dict:
    """The additions for a `BacktestReport` (see the module docstring), JSON-ready."""
    request, candles, table = report.request, report.candles, report.simulation.table
    trades = report.simulation.trades[:MAX_MARKS]
    return {
        "sizing": request.sizing.describe(),
        "buy_and_hold": buy_and_hold(
            candles,
            capital=Decimal(request.capital),
            fee_rate=Decimal(request.fee_rate),
            slippage_bps=Decimal(request.slippage_bps),
        ),
        "by_exit_reason": _breakdown(
            report.simulation.trades, [t.exit_reason for t in report.simulation.trades]
        ),
        "by_entry_signal": _breakdown(report.simulation.trades, entry_signals(report)),
        "monthly": monthly_returns(candles.open_time_ms, report.simulation.equity, request.capital),
        "closes": [
            [ms, round(price, 8)]
            for ms, price in equity_curve(candles.open_time_ms, candles.close, POINTS)
        ],
        "marks": [
            {
                "entry_ms": t.entry_ms,
                "entry_price": str(t.entry_price),
                "exit_ms": t.exit_ms,
                "exit_price": str(t.exit_price),
                "exit_reason": t.exit_reason,
            }
            for t in trades
        ],
        "trades_marked": len(trades),
        "trades": len(table),
    }


def buy_and_hold(candles, *, capital: Decimal, fee_rate: Decimal, slippage_bps: Decimal) -> dict:
    slip = slippage_bps * BASIS_POINT
    paid = to_decimal(candles.open[0]) * (1 + slip)
    quantity = (capital / (paid * (1 + fee_rate))).quantize(MONEY_UNIT, rounding=ROUND_DOWN)
    cost = (paid * quantity).quantize(MONEY_UNIT) + (paid * quantity * fee_rate).quantize(
        MONEY_UNIT
    )
    cash = capital - cost
    sold = to_decimal(candles.close[-1]) * (1 - slip) * quantity
    final = cash + sold.quantize(MONEY_UNIT) - (sold * fee_rate).quantize(MONEY_UNIT)
    held = float(cash) + float(quantity) * candles.close
    peaks = np.maximum.accumulate(held)
    return {
        "quantity": str(quantity),
        "final_equity": str(final),
        "total_return": float(final / capital - 1),
        "max_drawdown": float((1 - held / peaks).max()),
        "curve": equity_curve(candles.open_time_ms, held, POINTS),
    }


def entry_signals(report) -> list[str]:
    """Each trade's entry reason: the strategy's reason on the candle before its fill."""
    try:
        strategy = registry.create(report.request.strategy, report.params)
        reasons = evaluate(strategy, report.candles).reason
    except (ValueError, StrategyError):
        return ["unknown"] * len(report.simulation.trades)
    return [
        str(reasons[t.entry_index - 1]) or "unnamed" if t.entry_index else "unknown"
        for t in report.simulation.trades
    ]


def _breakdown(trades, keys: list[str]) -> list[dict]:
    groups: dict[str, list] = defaultdict(list)
    for trade, key in zip(trades, keys, strict=True):
        groups[key].append(trade)
    rows = []
    for key, members in sorted(groups.items(), key=lambda item: -len(item[1])):
        winners = sum(1 for t in members if t.pnl > 0)
        returns = [float(t.pnl / (t.entry_price * t.quantity)) for t in members]
        rows.append(
            {
                "key": key,
                "trades": len(members),
                "winners": winners,
                "win_rate": winners / len(members),
                "pnl": str(sum(t.pnl for t in members)),
                "mean_return": sum(returns) / len(returns),
            }
        )
    return rows


def monthly_returns(times_ms: np.ndarray, equity: np.ndarray, capital) -> list[dict]:
    if not len(equity):
        return []
    months = [datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m") for ms in times_ms.tolist()]
    rows, before = [], float(capital)
    for index, month in enumerate(months):
        last = index == len(months) - 1 or months[index + 1] != month
        if last:
            rows.append({"month": month, "return": float(equity[index]) / before - 1})
            before = float(equity[index])
    return rows
