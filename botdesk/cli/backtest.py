"""`botdesk backtest`: a strategy over a kline file (or the bundled sample), with the live
engine's strategy method and fill rules; prints the figures, writes the trades CSV and
stores the run in `backtest_run` for the desk."""

import csv
import json
import re
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from botdesk.cli.backtest_report import report_lines
from botdesk.cli.common import (
    actor,
    database,
    load_strategies,
    quiet_logging,
    settings,
    utc_ms,
)
from botdesk.db import typed
from botdesk.db.backtest_runs import ALL_CASH, RISK, SIZINGS
from botdesk.engine.timeframes import FILE_INTERVALS

ZERO = Decimal(0)
_DURATION = re.compile(r"^(\d+)([mhd]?)$")
_UNIT_MS = {"": 60_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _duration(value: str) -> int:
    match = _DURATION.match(value.strip().lower())
    if match is None:
        raise click.BadParameter(
            f"{value!r} is not a duration such as 6h, 90m or 2d", param_hint="--max-gap"
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _decimal(value: str, option: str, low: Decimal, high: Decimal) -> Decimal:
    """A number as typed, within bounds, with at most the 8 decimals a run is stored with."""
    try:
        return typed.number(value, field=option, low=low, high=high)
    except typed.Refused as refused:
        raise click.BadParameter(refused.problem, param_hint=option) from None


def _sizing(mode: str):
    """The sizing asked for, with the desk's limits for "risk" (read from the database)."""
    from botdesk.engine.backtest.sizing import Sizing, desk_sizing

    if mode == ALL_CASH:
        return Sizing(ALL_CASH)
    try:
        with database().reading() as session:
            return desk_sizing(session=session, mode=mode)
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"--sizing {mode} reads the desk's risk limits, but the database cannot be read "
            f"({type(error).__name__}); run `botdesk init` first or pass --sizing all-cash"
        ) from None


class _Progress:
    """A progress bar on stderr, shown only when a run lasts more than half a second."""

    def __init__(self):
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, fraction: float) -> None:
        if time.monotonic() - self.started < 0.5 or not sys.stderr.isatty():
            return
        self.shown = True
        filled = int(30 * fraction)
        click.echo(
            f"\rbacktest [{'#' * filled}{'-' * (30 - filled)}] {fraction:4.0%}", err=True, nl=False
        )

    def done(self) -> None:
        if self.shown:
            click.echo("", err=True)


@click.command()
@click.option("--strategy", required=True, help="Strategy name, e.g. ema_cross.")
@click.option("--symbol", required=True, help="Symbol, e.g. BTCUSDT.")
@click.option(
    "--timeframe",
    required=True,
    type=click.Choice(list(FILE_INTERVALS)),
    help="Candle timeframe; the data is aggregated to it.",
)
@click.option(
    "--data",
    "data_source",
    required=True,
    help="Kline CSV (open_time_ms,open,high,low,close,volume), 'sample' for the bundled "
    "one, or 'stored' for the candle table.",
)
@click.option("--params", default="{}", help="Strategy parameters as JSON, e.g. '{\"fast\": 9}'.")
@click.option("--fee", default=None, help="Fee rate, share of notional (default BOTDESK_FEE_RATE).")
@click.option(
    "--slippage-bps", default=None, help="Slippage in basis points (default BOTDESK_SLIPPAGE_BPS)."
)
@click.option("--from", "from_", default=None, help="First candle, ISO date or time (UTC).")
@click.option("--to", default=None, help="Last candle, ISO date or time (UTC).")
@click.option("--out-trades", type=click.Path(dir_okay=False), help="Write the trades to this CSV.")
@click.option("--capital", default="10000", show_default=True, help="Starting cash, in quote.")
@click.option(
    "--sizing",
    type=click.Choice(list(SIZINGS)),
    default=RISK,
    show_default=True,
    help="risk: size each entry as a live bot would, with the desk's risk limits "
    "(risk_per_trade, max_position_notional) read from the database now; "
    "all-cash: spend the cash on each entry.",
)
@click.option(
    "--max-gap",
    default="6h",
    show_default=True,
    help="Longest hole allowed in the data (exchange outages), e.g. 6h, 90m, 0.",
)
@click.option("--no-store", is_flag=True, help="Do not store the run in backtest_run.")
def backtest(
    strategy,
    symbol,
    timeframe,
    data_source,
    params,
    fee,
    slippage_bps,
    from_,
    to,
    out_trades,
    capital,
    sizing,
    max_gap,
    no_store,
) -> None:
    """Backtest a strategy on historical klines with the live engine's rules."""
    from botdesk.engine.backtest.runs import BacktestRequest, new_run, run_backtest, store_report

    quiet_logging()
    config = settings()
    load_strategies()
    try:
        parameters = json.loads(params)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not valid JSON ({error})", param_hint="--params") from None
    request = BacktestRequest(
        strategy=strategy,
        params=parameters,
        symbol=symbol.upper(),
        timeframe=timeframe,
        data_source="candles" if data_source in ("stored", "candles") else data_source,
        from_ms=utc_ms(from_, "--from"),
        to_ms=utc_ms(to, "--to"),
        fee_rate=config.FEE_RATE if fee is None else _decimal(fee, "--fee", ZERO, Decimal("0.1")),
        slippage_bps=config.SLIPPAGE_BPS
        if slippage_bps is None
        else _decimal(slippage_bps, "--slippage-bps", ZERO, Decimal(1000)),
        capital=_decimal(capital, "--capital", Decimal(1), Decimal(10**9)),
        max_gap_ms=_duration(max_gap),
        sizing=_sizing(sizing),
    )
    progress = _Progress()
    try:
        report = run_backtest(request, progress=progress)
    except ValueError as error:
        progress.done()
        raise click.ClickException(str(error)) from None
    progress.done()
    for line in summary(report) + report_lines(report):
        click.echo(line)
    if out_trades:
        write_trades(Path(out_trades), report.trade_rows())
        click.echo(f"trades written to {out_trades}")
    if not no_store:
        try:
            with database().writing() as session:
                run = new_run(request, created_by=actor())
                store_report(run, report)
                session.add(run)
            click.echo(f"stored as backtest_run {run.id}")
        except Exception as error:  # the figures stand; the desk just will not see them
            click.echo(
                f"warning: not stored in backtest_run ({type(error).__name__}: {error}); "
                "run `botdesk init` first or pass --no-store",
                err=True,
            )


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def summary(report) -> list[str]:
    request, metrics, candles = report.request, report.metrics, report.candles
    quote = "USDT" if request.symbol.endswith("USDT") else "quote"

    def maybe(value, fmt):
        return format(value, fmt) if value is not None else "n/a"

    return [
        f"backtest {request.strategy} on {request.symbol} {request.timeframe}, "
        f"{_when(candles.open_time_ms[0])} to {_when(candles.open_time_ms[-1])} "
        f"({metrics.candles:,} candles)",
        f"parameters     {json.dumps(report.params, sort_keys=True)}",
        f"sizing         {request.sizing.describe(quote)}",
        f"trades         {metrics.trades}",
        f"win rate       {maybe(metrics.win_rate, '.1%')}",
        f"total return   {metrics.total_return:+.2%}",
        f"max drawdown   {metrics.max_drawdown:.2%}",
        f"sharpe         {maybe(metrics.sharpe, '.2f')}",
        f"profit factor  {maybe(metrics.profit_factor, '.2f')}",
        f"fees paid      {metrics.fees_paid:.2f} {quote}",
        f"final equity   {metrics.final_equity:.2f} {quote}",
    ]


TRADE_COLUMNS = [
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "quantity",
    "fees",
    "pnl",
    "return_pct",
    "exit_reason",
]


def write_trades(path: Path, trades: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRADE_COLUMNS)
        for trade in trades:
            writer.writerow(
                [
                    _iso(trade["entry_time_ms"]),
                    trade["entry_price"],
                    _iso(trade["exit_time_ms"]),
                    trade["exit_price"],
                    trade["quantity"],
                    trade["fees"],
                    trade["pnl"],
                    f"{trade['return'] * 100:.4f}",
                    trade["exit_reason"],
                ]
            )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
