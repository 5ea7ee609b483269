"""What a backtest produces: its trades as a table of exact integer units (1e-8, the
ledger's own), the equity at each close, and the totals. `Trade` rows with Decimals are
made from the table only when asked for (a report, a CSV), not during the simulation."""

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numba import njit

from botdesk.db.types import from_units
from botdesk.engine.backtest.exact import to_float
from botdesk.engine.frames import CandleFrame

EXIT, STOP_LOSS, TAKE_PROFIT, END_OF_DATA = "exit", "stop_loss", "take_profit", "end_of_data"
REASONS = (EXIT, STOP_LOSS, TAKE_PROFIT, END_OF_DATA)  # a trade's reason code indexes this
EXIT_CODE = REASONS.index(EXIT)


class Trade(NamedTuple):
    entry_ms: int
    entry_price: Decimal
    exit_ms: int
    exit_price: Decimal
    quantity: Decimal
    fees: Decimal
    pnl: Decimal  # net of both fees
    exit_reason: str  # exit | stop_loss | take_profit | end_of_data
    entry_index: int
    exit_index: int

    def as_dict(self) -> dict:
        return {
            "entry_time_ms": self.entry_ms,
            "entry_price": str(self.entry_price),
            "exit_time_ms": self.exit_ms,
            "exit_price": str(self.exit_price),
            "quantity": str(self.quantity),
            "fees": str(self.fees),
            "pnl": str(self.pnl),
            "return": float(self.pnl / (self.entry_price * self.quantity)),
            "exit_reason": self.exit_reason,
        }


@dataclass(frozen=True, eq=False)
class TradeTable:
    """One row per round trip; prices, quantities, fees and P&L in integer units."""

    entry_index: np.ndarray  # candle of the entry fill
    exit_index: np.ndarray  # candle of the exit fill
    entry_price: np.ndarray
    exit_price: np.ndarray
    quantity: np.ndarray
    fees: np.ndarray  # both fills' fees
    pnl: np.ndarray  # net of both fees
    reason: np.ndarray  # index into REASONS
    entry_ms: np.ndarray
    exit_ms: np.ndarray  # a market exit fills at its candle's open, the others at its close

    COLUMNS = ("entry_price", "exit_price", "quantity", "fees", "pnl")

    @classmethod
    def of(cls, candles: CandleFrame, rows: np.ndarray, step: int | None = None) -> "TradeTable":
        """From rows of (entry, exit, entry price, exit price, quantity, fees, pnl, reason);
        `step`: `candle_step(candles)` when the caller knows it already."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 8)
        step = candle_step(candles) if step is None else step
        reason, entry_ms, exit_ms = _reasons_and_times(rows, candles.open_time_ms, step)
        return cls(
            rows[:, 0], rows[:, 1], *(rows[:, i] for i in range(2, 7)), reason, entry_ms, exit_ms
        )

    def __len__(self) -> int:
        return len(self.entry_index)

    def equals(self, other: "TradeTable") -> bool:
        names = ("entry_index", "exit_index", *self.COLUMNS, "reason", "entry_ms", "exit_ms")
        return all(np.array_equal(getattr(self, n), getattr(other, n)) for n in names)

    def rows(self, limit: int | None = None) -> list[Trade]:
        count = len(self) if limit is None else min(limit, len(self))
        columns = [getattr(self, name)[:count].tolist() for name in self.COLUMNS]
        entry_ms, exit_ms = self.entry_ms[:count].tolist(), self.exit_ms[:count].tolist()
        entries, exits = self.entry_index[:count].tolist(), self.exit_index[:count].tolist()
        reasons = self.reason[:count].tolist()
        return [
            Trade(entry_ms[i], from_units(columns[0][i]), exit_ms[i], from_units(columns[1][i]),
                  from_units(columns[2][i]), from_units(columns[3][i]),
                  from_units(columns[4][i]), REASONS[reasons[i]], entries[i], exits[i])
            for i in range(count)
        ]  # fmt: skip


@dataclass(frozen=True, eq=False)
class Simulation:
    table: TradeTable
    equity: np.ndarray  # at each candle's close (float, for metrics and charts)
    final_equity: Decimal  # exact
    fees: Decimal
    refused: int  # buy signals the cash could not cover
    # `metrics.equity_figures` of the equity when the simulation made them (None: not)
    figures: tuple[float, float, float] | None = None

    @cached_property
    def trades(self) -> list[Trade]:
        return self.table.rows()

    @property
    def pnl(self) -> np.ndarray:
        """Each trade's net P&L as a float, in quote (as float(Decimal) gives it)."""
        return pnl_floats(self.table.pnl)


def pnl_floats(pnl: np.ndarray) -> np.ndarray:
    """Amounts in units as the floats float(Decimal) gives (`exact.to_float`)."""
    if len(pnl) == 0 or np.abs(pnl).max() < 2**53:
        return pnl / 1e8
    return _floats(np.ascontiguousarray(pnl, dtype=np.int64))


@njit(cache=True)
def _floats(units: np.ndarray) -> np.ndarray:
    floats = np.empty(len(units), dtype=np.float64)
    for i in range(len(units)):
        floats[i] = to_float(units[i])
    return floats


@njit(cache=True)
def _reasons_and_times(rows, times, step):
    """The rows' reason codes (int8), entry times and exit times (a market exit fills at
    its candle's open, the others at its close, `step` later), in one compiled pass."""
    count = len(rows)
    reason = np.empty(count, dtype=np.int8)
    entry_ms, exit_ms = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
    for k in range(count):
        code = rows[k, 7]
        reason[k] = code
        entry_ms[k] = times[rows[k, 0]]
        exit_ms[k] = times[rows[k, 1]] + (0 if code == EXIT_CODE else step)
    return reason, entry_ms, exit_ms


def candle_step(candles: CandleFrame) -> int:
    """The candle length (the most common step), for close times."""
    if len(candles) < 2:
        return 60_000
    steps = np.diff(candles.open_time_ms[: min(len(candles), 1000)])
    if (steps == steps[0]).all():
        return int(steps[0])
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])
