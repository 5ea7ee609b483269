"""Sweeps: one strategy over many parameter sets on one history, each set a backtest with
the same trades, P&L and figures to the unit as `run_backtest` of that set, for much less
than as many runs.

What is shared: the candles are loaded once (a `History`: their prices in units too);
the costs are checked once; inside a chunk of sets the strategy's indicators are shared
(`shared_results`: an EMA of one period is computed once for every set using it). Each
set's signals come from the strategy's own `signals`, as in a single run; then the
compiled core trades every set of the chunk at once on both cores (`core.run_many`), each
on its own state, and computes each set's equity figures there; a set's equity is not
kept (`run_backtest` of the set gives it, and its curve). Decimal is used at the edges
only: the totals of each set, and the rare entry the core's floats cannot size.

A set whose parameters are invalid or whose strategy fails gets its error, and the sweep
carries on with the others.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from botdesk.engine.backtest import core
from botdesk.engine.backtest.core import figures_many, run_many
from botdesk.engine.backtest.data import History
from botdesk.engine.backtest.metrics import Metrics, metrics_of
from botdesk.engine.backtest.runs import BacktestError, BacktestRequest, history_of, strategy_of
from botdesk.engine.backtest.simulate import (
    Costs,
    LimitOrders,
    level_prices,
    level_units,
    out_of_range,
    simulation_of,
)
from botdesk.engine.backtest.trades import TradeTable
from botdesk.engine.indicators.shared import shared_results
from botdesk.engine.strategies.safe import StrategyError, evaluate
from botdesk.engine.timeframes import timeframe_ms

CHUNK_BYTES = 32 * 2**20  # the equity rows of one chunk; bounds the memory of a sweep
MAX_CHUNK = 256


@dataclass(frozen=True, eq=False)
class SweepResult:
    """One parameter set of a sweep: its validated parameters and either its trades and
    figures (as `run_backtest` gives them) or the error that stopped it."""

    params: dict
    metrics: Metrics | None = None
    table: TradeTable | None = None
    error: str | None = None


def run_sweep(
    request: BacktestRequest,
    param_sets: Sequence[dict],
    *,
    history: History | None = None,
    db=None,
) -> list[SweepResult]:
    """A backtest of `request` for each of `param_sets` (each merged over request.params),
    in order. `history`: the request's candles loaded before, as for `run_backtest`.
    Raises BacktestError when the request itself cannot run (its data, its costs)."""
    history = history_of(request, db=db, history=history)
    try:
        costs = Costs.of(
            fee_rate=request.fee_rate,
            slippage_bps=request.slippage_bps,
            capital=request.capital,
            sizing=request.sizing,
        )
    except ValueError as error:
        raise BacktestError(str(error)) from None
    results: list[SweepResult | None] = [None] * len(param_sets)
    strategies = {}
    for index, params in enumerate(param_sets):
        try:
            strategies[index] = strategy_of(request.strategy, {**request.params, **params})
        except BacktestError as error:
            results[index] = SweepResult(params=dict(params), error=str(error))
    order = sorted(strategies, key=lambda i: _sort_key(strategies[i].params.model_dump()))
    chunk = max(2, min(MAX_CHUNK, CHUNK_BYTES // (8 * len(history.candles)), len(order)))
    # one equity buffer for every chunk: fresh memory would fault in page by page each time
    equity = np.empty((chunk, len(history.candles)), dtype=np.float64)
    for start in range(0, len(order), chunk):
        picked = {i: strategies[i] for i in order[start : start + chunk]}
        results_of = _chunk(history, costs, picked, timeframe_ms(request.timeframe), equity)
        for index, result in results_of.items():
            results[index] = result
    return results


def _sort_key(params: dict) -> tuple:
    """Sets with equal leading parameters next to each other (they share indicators)."""
    return tuple((name, str(value)) for name, value in sorted(params.items()))


def _chunk(
    history: History, costs: Costs, strategies: dict, candle_ms: int, buffer: np.ndarray
) -> dict:
    candles, units = history.candles, history.units
    count = len(candles)
    results, indexes = {}, []
    side = np.empty((len(strategies), count), dtype=np.int8)
    stops, targets, limits = [], [], []
    with shared_results():
        for index, strategy in strategies.items():
            try:
                frame = evaluate(strategy, candles, interval_ms=candle_ms)
            except StrategyError as error:
                results[index] = _failed(strategy, str(error))
                continue
            # keep only what the core reads: a frame per set would hold the chunk's memory
            side[len(indexes)] = frame.side
            stops.append(_set_levels(frame.stop))
            targets.append(_set_levels(frame.take_profit))
            limits.append(LimitOrders.of(frame))
            indexes.append(index)
    if not indexes:
        return results
    sets = len(indexes)
    side = side[:sets]
    stop, stop_units = _levels(stops, side)
    target, target_units = _levels(targets, side)
    limit_args = _limits(limits, side)
    states = np.empty((sets, core.STATE_SIZE), dtype=np.int64)
    float_states = np.empty((sets, core.FLOAT_STATE_SIZE), dtype=np.float64)
    for k in range(sets):
        states[k], float_states[k] = costs.new_state()
    most_trades = int((side == 1).sum(axis=1).max()) + 1
    trades = np.empty((sets, most_trades, 8), dtype=np.int64)
    equity = buffer[:sets]
    statuses = np.full(sets, -1, dtype=np.int64)
    run_many(
        np.arange(sets), side, units.open, units.close, candles.high, candles.low,
        candles.close, stop, target, stop_units, target_units, *limit_args, *costs.core_args,
        states, float_states, trades, equity, statuses,
    )  # fmt: skip
    failed: dict[int, str] = {}
    for k in np.flatnonzero(statuses != core.DONE).tolist():
        # a set that stopped for an entry its floats could not size (or out of range)
        # carries on alone, as `simulate` does, the Decimal rule sizing each such entry
        s, t = (k if len(stop) > 1 else 0), (k if len(target) > 1 else 0)
        levels = (stop[s], target[t], stop_units[s], target_units[t])
        try:
            while statuses[k] != core.DONE:
                if statuses[k] == core.TOO_LARGE:
                    raise out_of_range()
                costs.size_asked(states[k], units, levels[0], levels[2], limits[k])
                statuses[k] = core.run(
                    side[k], units.open, units.close, candles.high, candles.low,
                    candles.close, *levels, *limits[k].core_args(), *costs.core_args,
                    states[k], float_states[k], trades[k], equity[k],
                )  # fmt: skip
        except ValueError as error:
            failed[k] = str(error)
    done = np.array([k not in failed for k in range(sets)])
    figures = figures_many(equity, done)
    for k, index in enumerate(indexes):
        strategy = strategies[index]
        if k in failed:
            results[index] = _failed(strategy, failed[k])
            continue
        made = int(states[k, core.TRADES])
        rows = trades[k, :made].copy()
        simulation = simulation_of(candles, states[k], rows, equity[k], units.step)
        metrics = metrics_of(
            simulation.table.pnl,
            tuple(float(value) for value in figures[k]),
            candles=count,
            final_equity=simulation.final_equity,
            fees=simulation.fees,
            capital=costs.capital,
            candle_ms=candle_ms,
        )
        results[index] = SweepResult(strategy.params.model_dump(), metrics, simulation.table)
    return results


def _failed(strategy, error: str) -> SweepResult:
    return SweepResult(params=strategy.params.model_dump(), error=error)


def _set_levels(levels: np.ndarray) -> np.ndarray | None:
    """A set's stop or take-profit prices, None when it has none."""
    prices = level_prices(levels)
    return None if np.isnan(prices).all() else prices


def _limits(limits: list[LimitOrders], side: np.ndarray) -> tuple:
    """The sets' limit prices, units and candles good for, a row per set; one empty row
    for all when no set asks for a limit."""
    if not any(len(orders.price) for orders in limits):
        empty = np.empty((1, 0))
        return empty, empty.astype(np.int64), empty.astype(np.int64)
    price = np.full(side.shape, np.nan)
    units = np.zeros(side.shape, dtype=np.int64)
    good_for = np.zeros(side.shape, dtype=np.int64)
    for k, orders in enumerate(limits):
        if len(orders.price):
            price[k], units[k], good_for[k] = orders.core_args()
    return price, units, good_for


def _levels(columns: list, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sets' stop (or take-profit) prices and their units, a row per set; one row of
    NaN (and one unit of 0) for all when no set has any."""
    if all(column is None for column in columns):
        return np.full((1, side.shape[1]), np.nan), np.zeros((1, 1), dtype=np.int64)
    prices = np.full(side.shape, np.nan)
    units = np.zeros(side.shape, dtype=np.int64)
    for k, column in enumerate(columns):
        if column is not None:
            prices[k] = column
            found = level_units(column, side[k])
            if len(found) == side.shape[1]:
                units[k] = found
    return prices, units
