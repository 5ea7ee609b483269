"""The backtest: the strategy's signals over the whole history, traded with the paper
broker's fill rules, a live bot's sizing and the ledger's arithmetic, by the compiled core
(`core.py`) in integer units of 1e-8. It gives the same trades, the same P&L and the same
equity, to the last unit, as the Decimal reference (`reference.py`, whose docstring tells
the order of events); Decimal is used only at the edges: the costs and capital going in,
the rare entry the core's floats cannot size (see `core.py`), the totals coming out.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from botdesk.db.types import MONEY_UNIT, from_units, to_units
from botdesk.engine.backtest import core
from botdesk.engine.backtest.metrics import figures_after
from botdesk.engine.backtest.sizing import ALL_CASH_SIZING, Sizing
from botdesk.engine.backtest.trades import Simulation, TradeTable, candle_step
from botdesk.engine.backtest.units import LIMIT, AmountOutOfRange, units_of
from botdesk.engine.fill_rules import BASIS_POINT
from botdesk.engine.frames import CandleFrame, SignalFrame

MAX_SLIPPAGE_BPS = Decimal(10_000)  # a sell at 100 % slippage would get nothing


class CostError(ValueError):
    """A fee, slippage or capital the backtest cannot use; the message says why."""


@dataclass(frozen=True, eq=False)
class CandleUnits:
    """The opens and closes of a candle frame in units, and its candle length (the most
    common step, for close times), computed once per history (a sweep over parameters
    reuses them)."""

    open: np.ndarray
    close: np.ndarray
    step: int | None = None

    @classmethod
    def of(cls, candles: CandleFrame) -> "CandleUnits":
        return cls(units_of(candles.open), units_of(candles.close), candle_step(candles))


KNOWN_COSTS = 256  # the checked costs kept (`Costs.of`)


@dataclass(frozen=True)
class Costs:
    """A backtest's fee, slippage, capital and sizing, checked, with the core's unit
    values; a sweep checks them once for all its sets."""

    fee_rate: Decimal
    slippage_bps: Decimal
    capital: Decimal
    sizing: Sizing
    core_args: tuple  # fee, slippage, capital in units, risk, max notional, paid factor, capital

    @classmethod
    def of(
        cls, *, fee_rate: Decimal, slippage_bps: Decimal, capital: Decimal, sizing: Sizing
    ) -> "Costs":
        """The checked costs; the same costs again (every run of a sweep, a desk's runs
        with the default costs) are checked once (`_known_costs`)."""
        try:
            hash((fee_rate, slippage_bps, capital, sizing))
        except TypeError:  # unhashable (a signalling NaN): checked, to say what is wrong
            return cls.checked(fee_rate, slippage_bps, capital, sizing)
        return _known_costs(cls, fee_rate, slippage_bps, capital, sizing)

    @classmethod
    def checked(
        cls, fee_rate: Decimal, slippage_bps: Decimal, capital: Decimal, sizing: Sizing
    ) -> "Costs":
        capital_units = _units(capital, "the capital", MONEY_UNIT, from_units(LIMIT))
        paid_factor = (1.0 + float(fee_rate)) * (1.0 + float(slippage_bps * BASIS_POINT))
        return cls(
            fee_rate,
            slippage_bps,
            capital,
            sizing,
            (
                _units(fee_rate, "the fee rate", Decimal(0), Decimal(1)),
                _units(slippage_bps, "the slippage", Decimal(0), MAX_SLIPPAGE_BPS),
                capital_units,
                _limit(sizing.risk_per_trade),
                _limit(sizing.max_position_notional),
                paid_factor,
                float(capital),
            ),
        )

    def new_state(self) -> tuple[np.ndarray, np.ndarray]:
        return core.new_state(self.core_args[2])

    def size_asked(
        self,
        state: np.ndarray,
        units: "CandleUnits",
        stop: np.ndarray,
        stop_units: np.ndarray,
        limits: "LimitOrders",
    ) -> None:
        """Size the entry the core asked for (NEED_SIZE) with the Decimal rule, into
        `state`, so the core carries on with it (on its limit price if it has one)."""
        signal_at = int(state[core.ASK_AT])
        price = limits.price_units(signal_at)
        quantity = self.sizing.quantity(
            price=from_units(units.close[signal_at] if price is None else price),
            stop=None if np.isnan(stop[signal_at]) else from_units(stop_units[signal_at]),
            cash=from_units(state[core.CASH]),
            capital=Decimal(self.capital),
            fee_rate=self.fee_rate,
            slippage_bps=self.slippage_bps,
        )
        if to_units(quantity) >= LIMIT:
            raise out_of_range()
        state[core.SIZED_AT], state[core.SIZED] = signal_at, to_units(quantity)


@dataclass(frozen=True, eq=False)
class LimitOrders:
    """The signals' limit orders as the core reads them: prices rounded to 8 places, as
    an order stores them (NaN: a market order), their units, the candles each is good
    for; three empty arrays when no signal asks for a limit."""

    price: np.ndarray
    units: np.ndarray
    good_for: np.ndarray

    @classmethod
    def of(cls, signals: SignalFrame) -> "LimitOrders":
        limit = signals.limit
        if limit is None or np.isnan(limit).all():
            return NO_LIMITS
        units = units_of(limit)
        price = np.where(np.isnan(limit), np.nan, units / 1e8)
        candles = signals.limit_candles
        good_for = np.zeros(len(limit), dtype=np.int64) if candles is None else candles
        good_for = np.ascontiguousarray(good_for, dtype=np.int64)
        return cls(price, units, good_for)

    def price_units(self, index: int) -> int | None:
        if not len(self.price) or np.isnan(self.price[index]):
            return None
        return int(self.units[index])

    def core_args(self) -> tuple:
        return self.price, self.units, self.good_for


@functools.lru_cache(maxsize=KNOWN_COSTS)  # a bad one raises: not kept, checked every time
def _known_costs(kind: type[Costs], fee_rate, slippage_bps, capital, sizing) -> Costs:
    return kind.checked(fee_rate, slippage_bps, capital, sizing)


NO_LIMITS = LimitOrders(np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


def simulate(
    candles: CandleFrame,
    signals: SignalFrame,
    *,
    fee_rate: Decimal,
    slippage_bps: Decimal,
    capital: Decimal,
    sizing: Sizing = ALL_CASH_SIZING,
    progress: Callable[[float], None] | None = None,
    units: CandleUnits | None = None,
    costs: Costs | None = None,
) -> Simulation:
    """Trade the signals (see the module docstring); `units` (with the candles' `step`,
    and `costs`, made from the same fee, slippage, capital and sizing) may be given to
    save their computation when the same candles are backtested many times."""
    if costs is None:
        costs = Costs.of(
            fee_rate=fee_rate, slippage_bps=slippage_bps, capital=capital, sizing=sizing
        )
    units = units or CandleUnits.of(candles)
    count = len(candles)
    side = np.ascontiguousarray(signals.side, dtype=np.int8)
    stop, target = level_prices(signals.stop), level_prices(signals.take_profit)
    rows, _ = core.signal_rows(side, units.open, units.close)  # and their prices, cached
    stop_units, target_units = level_units(stop, side, rows), level_units(target, side, rows)
    limits = LimitOrders.of(signals)
    state, float_state = costs.new_state()
    trades = np.empty((len(rows), 8), dtype=np.int64)  # a trade per buy signal at most
    equity = np.empty(count, dtype=np.float64)
    while True:
        status = core.run(
            side, units.open, units.close, candles.high, candles.low, candles.close,
            stop, target, stop_units, target_units, *limits.core_args(), *costs.core_args,
            state, float_state, trades, equity,
        )  # fmt: skip
        if status == core.DONE:
            break
        if status == core.TOO_LARGE:
            raise out_of_range()
        costs.size_asked(state, units, stop, stop_units, limits)
    if progress is not None:
        progress(1.0)
    return simulation_of(candles, state, trades, equity, units.step, float_state)


def simulation_of(
    candles: CandleFrame,
    state: np.ndarray,
    trades: np.ndarray,
    equity: np.ndarray,
    step: int | None = None,
    float_state: np.ndarray | None = None,
) -> Simulation:
    """The Simulation the core's finished `state`, trade rows and equity describe (with
    the equity figures, from the first pass the core made, when `float_state` is given)."""
    figures = None
    if float_state is not None:
        figures = figures_after(equity, float_state[core.DRAWDOWN], float_state[core.RETURNS])
    return Simulation(
        TradeTable.of(candles, trades[: state[core.TRADES]], step),
        equity,
        from_units(state[core.CASH]),
        from_units(state[core.FEES]),
        int(state[core.REFUSED]),
        figures,
    )


def out_of_range() -> AmountOutOfRange:
    return AmountOutOfRange(
        f"the backtest's amounts grow past {from_units(LIMIT // 2):,.0f}, beyond the "
        "ledger's exact range; use a smaller capital"
    )


@functools.lru_cache(maxsize=256)  # a sweep converts the same costs for every set
def _units(value: Decimal, name: str, low: Decimal, below: Decimal) -> int:
    value = Decimal(value)
    if not value.is_finite() or not low <= value < below:
        raise CostError(f"{name} must be at least {low} and below {below}, not {value}")
    if value != value.quantize(MONEY_UNIT):
        raise CostError(f"{name} has more than 8 decimal places ({value})")
    return to_units(value)


def _limit(value: Decimal | None) -> int:
    if value is None:
        return core.NO_LIMIT
    return _units(value, "a risk limit", MONEY_UNIT, from_units(LIMIT))


def level_prices(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def level_units(levels: np.ndarray, side: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """A buy's stop or take-profit in units (what the ledger fills at); 0 where unset. The
    core reads it only where the level is set: without any, a single 0 does. `rows`: the
    buy rows (`core.buy_rows(side)`), when the caller has them."""
    rows = core.buy_rows(side) if rows is None else rows
    if not core.any_set(levels, rows):
        return np.zeros(1, dtype=np.int64)
    rows = rows[~np.isnan(levels[rows])]
    units = np.zeros(len(levels), dtype=np.int64)
    units[rows] = units_of(levels[rows])
    return units
