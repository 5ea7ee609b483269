"""Running a backtest end to end (data, strategy, simulation, figures) and storing it in
`backtest_run` for the desk. The CLI and the engine's `backtest.run` handler share this."""

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session

from botdesk.db.models import BacktestRun
from botdesk.db.types import utcnow
from botdesk.engine.backtest.data import History, load_history
from botdesk.engine.backtest.metrics import Metrics, equity_curve, measure
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.backtest.sizing import ALL_CASH_SIZING, Sizing, SizingError
from botdesk.engine.backtest.trades import Simulation
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import DEFAULT_MAX_GAP_MS
from botdesk.engine.research.report import additions
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import Strategy, StrategyParams
from botdesk.engine.strategies.safe import StrategyError, evaluate
from botdesk.engine.timeframes import timeframe_ms

MAX_TRADES_STORED = 5000


class BacktestError(ValueError):
    """The backtest cannot run as asked; the message says why."""


@dataclass(frozen=True)
class BacktestRequest:
    strategy: str
    params: dict
    symbol: str
    timeframe: str
    data_source: str
    from_ms: int | None = None
    to_ms: int | None = None
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(0)
    capital: Decimal = Decimal(10000)
    max_gap_ms: int = DEFAULT_MAX_GAP_MS
    sizing: Sizing = ALL_CASH_SIZING  # the CLI and the desk size "risk" by default

    def history_key(self) -> tuple:
        return (
            self.data_source,
            self.symbol,
            self.timeframe,
            self.from_ms,
            self.to_ms,
            self.max_gap_ms,
        )


@dataclass(frozen=True)
class BacktestReport:
    request: BacktestRequest
    params: dict  # validated, defaults filled in
    candles: CandleFrame
    simulation: Simulation
    metrics: Metrics

    def trade_rows(self, limit: int | None = None) -> list[dict]:
        return [trade.as_dict() for trade in self.simulation.table.rows(limit)]

    def curve(self) -> list:
        return equity_curve(self.candles.open_time_ms, self.simulation.equity)


def run_backtest(
    request: BacktestRequest,
    *,
    db=None,
    progress: Callable[[float], None] | None = None,
    history: History | None = None,
) -> BacktestReport:
    """Raises BacktestError (or a subclass of ValueError) with a message for the user.
    `history`: the request's candles loaded before (`load_history`), for sweeps."""
    report = progress or (lambda _fraction: None)
    strategy = strategy_of(request.strategy, request.params)
    history = history_of(request, db=db, history=history)
    candles = history.candles
    report(0.1)
    try:
        signals = evaluate(strategy, candles, interval_ms=timeframe_ms(request.timeframe))
    except StrategyError as error:
        raise BacktestError(str(error)) from None
    report(0.3)
    simulation = simulate(
        candles,
        signals,
        fee_rate=request.fee_rate,
        slippage_bps=request.slippage_bps,
        capital=request.capital,
        sizing=request.sizing,
        progress=lambda fraction: report(0.3 + 0.65 * fraction),
        units=history.units,
    )
    metrics = measure(
        simulation, capital=request.capital, candle_ms=timeframe_ms(request.timeframe)
    )
    report(1.0)
    return BacktestReport(request, params_dump(strategy.params), candles, simulation, metrics)


def strategy_of(name: str, params: dict) -> Strategy:
    """The strategy `name` with `params` validated; BacktestError says what is wrong."""
    try:
        return registry.get(name)(validated_params(name, params))
    except ValueError as error:
        raise BacktestError(str(error)) from None


KNOWN_PARAMS = 1024  # the validated parameter sets kept (`validated_params`)


def validated_params(name: str, params: dict | None) -> StrategyParams:
    """`registry.validate_params`, kept for the same strategy class and the same values
    of the same types (the models are frozen): a desk's or a sweep's runs repeat them."""
    try:
        values = tuple((k, type(v), v) for k, v in sorted((params or {}).items()))
        hash(values)
    except TypeError:  # not a dict of hashable values: validated anew
        return registry.validate_params(name, params)
    return _validated(registry.get(name), name, values)


@functools.lru_cache(maxsize=KNOWN_PARAMS)
def _validated(_kind: type[Strategy], name: str, values: tuple) -> StrategyParams:
    return registry.validate_params(name, {k: v for k, _type, v in values})


def params_dump(params: StrategyParams) -> dict:
    """params.model_dump(), made once per parameter set (a new dict each call: the caller
    may change it)."""
    try:
        return dict(_dump(params))
    except TypeError:  # a value that cannot be hashed
        return params.model_dump()


@functools.lru_cache(maxsize=KNOWN_PARAMS)
def _dump(params: StrategyParams) -> dict:
    return params.model_dump()


def history_of(request: BacktestRequest, *, db=None, history: History | None = None) -> History:
    """The request's candles: `history` when given (it must be the request's own), else
    loaded (`load_history`)."""
    if history is None:
        return load_history(
            request.data_source,
            symbol=request.symbol,
            timeframe=request.timeframe,
            from_ms=request.from_ms,
            to_ms=request.to_ms,
            db=db,
            max_gap_ms=request.max_gap_ms,
        )
    if history.key() != request.history_key():
        raise BacktestError(
            f"the loaded history is {history.key()}, the request asks for "
            f"{request.history_key()} (data, symbol, timeframe, from, to, max gap)"
        )
    return history


def request_of(run: BacktestRun) -> BacktestRequest:
    try:
        params = json.loads(run.params or "{}")
    except json.JSONDecodeError as error:
        raise BacktestError(f"parameters are not valid JSON ({error})") from None
    return BacktestRequest(
        strategy=run.strategy,
        params=params,
        symbol=run.symbol,
        timeframe=run.timeframe,
        data_source=run.data_source,
        from_ms=run.from_ms,
        to_ms=run.to_ms,
        fee_rate=run.fee_rate,
        slippage_bps=run.slippage_bps,
        capital=run.initial_capital,
        sizing=_sizing_of(run),
    )


def _sizing_of(run: BacktestRun) -> Sizing:
    try:
        return Sizing(run.sizing, run.risk_per_trade, run.max_position_notional)
    except SizingError as error:
        raise BacktestError(str(error)) from None


def new_run(request: BacktestRequest, *, created_by: str) -> BacktestRun:
    return BacktestRun(
        created_by=created_by,
        strategy=request.strategy,
        params=json.dumps(request.params, sort_keys=True),
        symbol=request.symbol,
        timeframe=request.timeframe,
        data_source=request.data_source,
        from_ms=request.from_ms,
        to_ms=request.to_ms,
        fee_rate=request.fee_rate,
        slippage_bps=request.slippage_bps,
        initial_capital=request.capital,
        sizing=request.sizing.mode,
        risk_per_trade=request.sizing.risk_per_trade,
        max_position_notional=request.sizing.max_position_notional,
    )


FIGURE_PLACES = 6


def figure(value: float | None) -> float | None:
    """A run's ratio as stored: 6 decimal places, not 0.14035087719298245."""
    return None if value is None else round(value, FIGURE_PLACES)


def store_report(run: BacktestRun, report: BacktestReport) -> None:
    metrics = report.metrics
    run.status = "done"
    run.progress = 1.0
    run.error = None
    run.finished_at = utcnow()
    run.params = json.dumps(report.params, sort_keys=True)
    run.candles = metrics.candles
    run.trades = metrics.trades
    # ratios to 6 decimal places (0.140351 = 14.0351 %), as the desk shows and exports them
    run.win_rate = figure(metrics.win_rate)
    run.total_return = figure(metrics.total_return)
    run.max_drawdown = figure(metrics.max_drawdown)
    run.sharpe = figure(metrics.sharpe)
    run.profit_factor = figure(metrics.profit_factor)
    run.fees_paid = metrics.fees_paid
    run.final_equity = metrics.final_equity
    run.equity_curve = json.dumps(report.curve())
    run.trade_list = json.dumps(report.trade_rows(MAX_TRADES_STORED))
    run.report = json.dumps(additions(report))


def execute_stored_run(db, run_id: int) -> str:
    """Run the backtest_run row `run_id` (queued -> running -> done/failed), writing its
    progress as it goes. Returns a one-line result for the command."""
    with db.writing() as session:
        run = session.get(BacktestRun, run_id)
        if run is None:
            raise BacktestError(f"there is no backtest_run {run_id}")
        if run.status == "done":
            return f"backtest_run {run_id} was already done"
        run.status, run.progress, run.error = "running", 0.0, None
        run.started_at, run.finished_at = utcnow(), None
        session.add(run)
        request = request_of(run)
    last_write = [time.monotonic()]

    def progress(fraction: float) -> None:
        if time.monotonic() - last_write[0] < 0.5 and fraction < 1.0:
            return
        last_write[0] = time.monotonic()
        with db.writing() as session:
            _set_progress(session, run_id, fraction)

    try:
        report = run_backtest(request, db=db, progress=progress)
    except ValueError as error:
        with db.writing() as session:
            run = session.get(BacktestRun, run_id)
            run.status, run.error, run.finished_at = "failed", str(error), utcnow()
            session.add(run)
        raise BacktestError(f"backtest_run {run_id} failed: {error}") from None
    with db.writing() as session:
        run = session.get(BacktestRun, run_id)
        store_report(run, report)
        session.add(run)
    metrics = report.metrics
    return (
        f"backtest_run {run_id} done: {metrics.trades} trades, "
        f"return {metrics.total_return:+.2%} over {metrics.candles} candles"
    )


def _set_progress(session: Session, run_id: int, fraction: float) -> None:
    run = session.get(BacktestRun, run_id)
    if run is not None and run.status == "running":
        run.progress = round(min(max(fraction, 0.0), 1.0), 4)
        session.add(run)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")
