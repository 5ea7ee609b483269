"""Candle and signal frames: columns of numpy arrays that strategies and indicators work on.

A `CandleFrame` holds closed candles in ascending open time; prices are float64 for the
vectorized maths (every Binance price and quantity has at most 8 decimals and at most 15
significant digits, so `to_decimal` gives the exact decimal back for the ledger).
A `SignalFrame` is what a strategy returns: one row per candle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from botdesk.db.types import MONEY_UNIT

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")

NO_SIGNAL, BUY, SELL = 0, 1, -1


def to_decimal(value: float) -> Decimal:
    """The exact 8-place Decimal of a float that came from a decimal string (or a computation)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{number} is not a finite number")
    return Decimal(repr(number)).quantize(MONEY_UNIT)


@dataclass(frozen=True, slots=True, eq=False)
class CandleFrame:
    """Closed candles, oldest first. `open_time_ms` is int64; the rest are float64."""

    open_time_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def empty(cls) -> CandleFrame:
        floats = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), floats, floats, floats, floats, floats)

    @classmethod
    def from_arrays(cls, open_time_ms, open, high, low, close, volume) -> CandleFrame:
        def floats(values):
            return np.ascontiguousarray(values, dtype=np.float64)

        return cls(
            np.ascontiguousarray(open_time_ms, dtype=np.int64),
            floats(open),
            floats(high),
            floats(low),
            floats(close),
            floats(volume),
        )

    @classmethod
    def from_rows(cls, rows: Iterable) -> CandleFrame:
        """From objects with open_time_ms/open/high/low/close/volume (e.g. `Candle` rows)."""
        rows = list(rows)
        if not rows:
            return cls.empty()
        return cls.from_arrays(
            [row.open_time_ms for row in rows],
            *([float(getattr(row, name)) for row in rows] for name in PRICE_COLUMNS),
        )

    @classmethod
    def concat(cls, frames: Iterable[CandleFrame]) -> CandleFrame:
        frames = [frame for frame in frames if len(frame)]
        if not frames:
            return cls.empty()
        if len(frames) == 1:
            return frames[0]
        return cls(
            np.concatenate([f.open_time_ms for f in frames]),
            *(np.concatenate([getattr(f, name) for f in frames]) for name in PRICE_COLUMNS),
        )

    def __len__(self) -> int:
        return len(self.open_time_ms)

    def __getitem__(self, index: slice | np.ndarray) -> CandleFrame:
        return CandleFrame(
            self.open_time_ms[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
            self.volume[index],
        )

    def tail(self, count: int) -> CandleFrame:
        return self if len(self) <= count else self[len(self) - count :]

    def after(self, open_time_ms: int | None) -> CandleFrame:
        """The candles that opened strictly after `open_time_ms` (all of them for None)."""
        if open_time_ms is None:
            return self
        start = int(np.searchsorted(self.open_time_ms, open_time_ms, side="right"))
        return self[start:]

    def between(self, from_ms: int | None, to_ms: int | None) -> CandleFrame:
        """Candles with from_ms <= open time <= to_ms (either bound optional)."""
        times = self.open_time_ms
        start = 0 if from_ms is None else int(np.searchsorted(times, from_ms, "left"))
        stop = len(self) if to_ms is None else int(np.searchsorted(times, to_ms, "right"))
        return self[start:stop]

    @property
    def last_open_ms(self) -> int | None:
        return int(self.open_time_ms[-1]) if len(self) else None

    def row(self, index: int) -> dict:
        """One candle as exact Decimals, the way the ledger and the candle table want it."""
        return {
            "open_time_ms": int(self.open_time_ms[index]),
            **{name: to_decimal(getattr(self, name)[index]) for name in PRICE_COLUMNS},
        }

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(
            {"open_time_ms": self.open_time_ms, **{n: getattr(self, n) for n in PRICE_COLUMNS}}
        )


@dataclass(frozen=True, slots=True, eq=False)
class SignalFrame:
    """A strategy's answer, one row per candle of the frame it was given.

    side: int8, BUY (1) enters or holds a long, SELL (-1) exits it, NO_SIGNAL (0) nothing;
    confidence: float in 0..1 (0 where there is no signal); stop, take_profit: absolute
    prices, NaN for none; reason: object array of short strings ("" where no signal).
    A signal on row t is decided on the close of candle t and acted on at the open of t+1.
    """

    side: np.ndarray
    confidence: np.ndarray
    stop: np.ndarray
    take_profit: np.ndarray
    reason: np.ndarray

    @classmethod
    def build(
        cls,
        length: int,
        *,
        buy,
        sell,
        confidence,
        stop=None,
        take_profit=None,
        buy_reason: str | np.ndarray = "",
        sell_reason: str | np.ndarray = "",
    ) -> SignalFrame:
        """Assemble a frame from boolean masks; a row that is both buy and sell is a sell.

        Stops and take-profits are kept on buy rows only (they protect the entry).
        """
        side = np.zeros(length, dtype=np.int8)
        side[np.asarray(buy, dtype=bool)] = BUY
        side[np.asarray(sell, dtype=bool)] = SELL
        is_buy, is_sell = side == BUY, side == SELL
        reason = np.full(length, "", dtype=object)
        for mask, text in ((is_buy, buy_reason), (is_sell, sell_reason)):
            reason[mask] = text if isinstance(text, str) else np.asarray(text, dtype=object)[mask]
        confidence = np.asarray(confidence, dtype=np.float64)
        return cls(
            side=side,
            confidence=np.where(side != NO_SIGNAL, np.clip(confidence, 0.0, 1.0), 0.0),
            stop=np.where(is_buy, np.nan if stop is None else stop, np.nan),
            take_profit=np.where(is_buy, np.nan if take_profit is None else take_profit, np.nan),
            reason=reason,
        )

    def __len__(self) -> int:
        return len(self.side)

    def __getitem__(self, index: slice) -> SignalFrame:
        return SignalFrame(
            self.side[index],
            self.confidence[index],
            self.stop[index],
            self.take_profit[index],
            self.reason[index],
        )

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "side": self.side,
                "confidence": self.confidence,
                "stop": self.stop,
                "take_profit": self.take_profit,
                "reason": self.reason,
            }
        )
