"""Candle and signal frames: columns of numpy arrays that strategies and indicators work on.

A `CandleFrame` holds closed candles in ascending open time; prices are float64 for the
vectorized maths (every Binance price and quantity has at most 8 decimals and at most 15
significant digits, so `to_decimal` gives the exact decimal back for the ledger).
Binance's extra kline fields (`FLOW_COLUMNS`: quote volume, trade count, taker-buy base
and quote volume) ride along when the source has them: each is a float64 array, NaN on a
candle that lacks it, or None when no candle of the frame has it.
A frame given to a strategy that declares higher timeframes carries them in `higher`
(`botdesk.engine.higher`: their closed candles and what each candle may see of them);
a slice, a copy or a concatenation does not.
A `SignalFrame` is what a strategy returns: one row per candle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from botdesk.db.types import MONEY_UNIT

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
FLOW_COLUMNS = ("quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume")

NO_SIGNAL, BUY, SELL = 0, 1, -1


def to_decimal(value: float) -> Decimal:
    """The exact 8-place Decimal of a float that came from a decimal string (or a computation)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{number} is not a finite number")
    return Decimal(repr(number)).quantize(MONEY_UNIT)


def _floats(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _optional_floats(values) -> np.ndarray | None:
    """A flow column as float64 (None -> NaN per candle), or None when no candle has it."""
    if values is None:
        return None
    if not isinstance(values, np.ndarray):
        values = [np.nan if value is None else float(value) for value in values]
    array = _floats(values)
    return None if not len(array) or np.isnan(array).all() else array


@dataclass(frozen=True, slots=True, eq=False)
class CandleFrame:
    """Closed candles, oldest first. `open_time_ms` is int64; the rest are float64; the
    flow columns are None when the source did not give them."""

    open_time_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    quote_volume: np.ndarray | None = None
    trades: np.ndarray | None = None
    taker_buy_base_volume: np.ndarray | None = None
    taker_buy_quote_volume: np.ndarray | None = None
    # the higher timeframes a strategy declared (`botdesk.engine.higher.HigherTimeframes`)
    higher: Mapping | None = None

    @classmethod
    def empty(cls) -> CandleFrame:
        floats = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), floats, floats, floats, floats, floats)

    @classmethod
    def from_arrays(cls, open_time_ms, open, high, low, close, volume, **flow) -> CandleFrame:
        """`flow` may give any of FLOW_COLUMNS (sequences with None or NaN where unknown)."""
        unknown = set(flow) - set(FLOW_COLUMNS)
        if unknown:
            raise TypeError(f"not a candle column: {', '.join(sorted(unknown))}")
        return cls(
            np.ascontiguousarray(open_time_ms, dtype=np.int64),
            _floats(open),
            _floats(high),
            _floats(low),
            _floats(close),
            _floats(volume),
            **{name: _optional_floats(values) for name, values in flow.items()},
        )

    @classmethod
    def from_rows(cls, rows: Iterable) -> CandleFrame:
        """From objects with open_time_ms/open/high/low/close/volume (e.g. `Candle` rows),
        and the flow columns where they have them."""
        rows = list(rows)
        if not rows:
            return cls.empty()
        flow = {
            name: [getattr(row, name, None) for row in rows]
            for name in FLOW_COLUMNS
            if hasattr(rows[0], name)
        }
        return cls.from_arrays(
            [row.open_time_ms for row in rows],
            *([float(getattr(row, name)) for row in rows] for name in PRICE_COLUMNS),
            **flow,
        )

    @classmethod
    def concat(cls, frames: Iterable[CandleFrame]) -> CandleFrame:
        frames = [frame for frame in frames if len(frame)]
        if not frames:
            return cls.empty()
        if len(frames) == 1:
            return frames[0]
        flow = {}
        for name in FLOW_COLUMNS:
            parts = [getattr(f, name) for f in frames]
            if any(part is not None for part in parts):
                flow[name] = np.concatenate(
                    [
                        np.full(len(f), np.nan) if p is None else p
                        for f, p in zip(frames, parts, strict=True)
                    ]
                )
        return cls(
            np.concatenate([f.open_time_ms for f in frames]),
            *(np.concatenate([getattr(f, name) for f in frames]) for name in PRICE_COLUMNS),
            **flow,
        )

    def columns(self) -> dict[str, np.ndarray]:
        """Every column the frame has, by name (the flow columns only where known)."""
        names = ("open_time_ms", *PRICE_COLUMNS, *FLOW_COLUMNS)
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def copy(self) -> CandleFrame:
        return CandleFrame(**{name: values.copy() for name, values in self.columns().items()})

    def freeze(self) -> None:
        """Make every column read-only (a frame kept and shared, e.g. by the kline cache)."""
        for values in self.columns().values():
            values.setflags(write=False)

    def carrying(self, higher: Mapping | None) -> CandleFrame:
        """The same candles (the same arrays) carrying `higher`."""
        return replace(self, higher=higher)

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
            *(None if (a := getattr(self, n)) is None else a[index] for n in FLOW_COLUMNS),
        )

    @property
    def has_flow(self) -> bool:
        """Whether the frame carries taker-buy volume (what order flow is computed from)."""
        return self.taker_buy_base_volume is not None

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
        """One candle as exact Decimals, the way the ledger and the candle table want it
        (the flow columns too, None where unknown; the trade count as an int)."""
        row = {
            "open_time_ms": int(self.open_time_ms[index]),
            **{name: to_decimal(getattr(self, name)[index]) for name in PRICE_COLUMNS},
        }
        for name in FLOW_COLUMNS:
            values = getattr(self, name)
            value = None if values is None else float(values[index])
            if value is None or math.isnan(value):
                row[name] = None
            else:
                row[name] = int(value) if name == "trades" else to_decimal(value)
        return row

    def to_pandas(self):
        import pandas as pd

        columns = {
            "open_time_ms": self.open_time_ms,
            **{n: getattr(self, n) for n in PRICE_COLUMNS},
        }
        columns.update({n: getattr(self, n) for n in FLOW_COLUMNS if getattr(self, n) is not None})
        return pd.DataFrame(columns)


def _column(values, length: int, dtype) -> np.ndarray:
    """A mask or number per row, as a contiguous array (a scalar is the same on every row;
    an empty mask marks no row, as numpy's indexing took it)."""
    array = np.asarray(values, dtype=dtype)
    if array.ndim == 0 or (dtype is bool and array.size == 0):
        return np.full(length, array if array.ndim == 0 else False, dtype=dtype)
    if len(array) != length:
        raise ValueError(f"a column of {len(array)} rows for a frame of {length}")
    return np.ascontiguousarray(array)


def _levels(values, length: int) -> np.ndarray:
    """Stop or take-profit prices per row; None gives an empty array (none)."""
    if values is None:
        return np.empty(0, dtype=np.float64)
    return _column(values, length, np.float64)


class Reasons:
    """The reason of each row of a signal frame, made when read: a frame keeps its buy and
    sell texts (one text, or one per row) and its sides, not an object array per candle
    (an object array of 24k strings costs more than a whole backtest, which reads none).
    It reads like the array: `reasons[i]` is a text, a slice is `Reasons`, a mask or
    `np.asarray(reasons)` gives the object array; writing rows (`reasons[rows] = texts`)
    makes the array once and keeps it."""

    __slots__ = ("_buy", "_rows", "_sell", "_side")

    def __init__(self, side: np.ndarray, buy: str | np.ndarray, sell: str | np.ndarray):
        self._side = side
        self._buy = buy if isinstance(buy, str) else np.asarray(buy, dtype=object)
        self._sell = sell if isinstance(sell, str) else np.asarray(sell, dtype=object)
        self._rows = None  # the object array, once rows were written

    def __len__(self) -> int:
        return len(self._side)

    def __getitem__(self, index):
        if self._rows is not None:
            return self._rows[index]
        if isinstance(index, slice):
            return Reasons(self._side[index], *(_part(t, index) for t in (self._buy, self._sell)))
        if isinstance(index, int | np.integer):
            side = self._side[index]
            text = self._buy if side == BUY else self._sell if side == SELL else ""
            return text if isinstance(text, str) else text[index]
        return self.__array__()[index]

    def __setitem__(self, index, texts) -> None:
        if self._rows is None:
            self._rows = self.__array__()
        self._rows[index] = texts if isinstance(texts, str) else np.asarray(texts, dtype=object)

    def __iter__(self):
        return iter(self.__array__())

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if self._rows is not None:
            reason = self._rows.copy()
        else:
            reason = np.full(len(self._side), "", dtype=object)
            for side, text in ((BUY, self._buy), (SELL, self._sell)):
                mask = self._side == side
                reason[mask] = text if isinstance(text, str) else text[mask]
        return reason if dtype is None else reason.astype(dtype)


def _part(text: str | np.ndarray, index: slice):
    return text if isinstance(text, str) else text[index]


@dataclass(frozen=True, slots=True, eq=False)
class SignalFrame:
    """A strategy's answer, one row per candle of the frame it was given.

    side: int8, BUY (1) enters or holds a long, SELL (-1) exits it, NO_SIGNAL (0) nothing;
    confidence: float in 0..1 (0 where there is no signal); stop, take_profit: absolute
    prices, NaN for none; reason: short strings ("" where no signal), an object array or
    `Reasons` (which makes them when read).
    A signal on row t is decided on the close of candle t and acted on at the open of t+1.
    """

    side: np.ndarray
    confidence: np.ndarray
    stop: np.ndarray
    take_profit: np.ndarray
    reason: np.ndarray | Reasons

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
        from botdesk.engine.frame_kernels import assemble  # numba, loaded when first used

        side, confidence, stop, take_profit = assemble(
            _column(buy, length, bool),
            _column(sell, length, bool),
            _column(confidence, length, np.float64),
            _levels(stop, length),
            _levels(take_profit, length),
        )
        return cls(side, confidence, stop, take_profit, Reasons(side, buy_reason, sell_reason))

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
                "reason": np.asarray(self.reason, dtype=object),
            }
        )
