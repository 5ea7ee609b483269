"""`botdesk strategy new|list|check`: your own strategies, where each comes from, and the
lookahead and warm-up check."""

import json
import sys
from pathlib import Path

import click

from botdesk.cli.common import load_strategies, quiet_logging, settings
from botdesk.cli.strategy_template import NAME, render
from botdesk.engine.timeframes import FILE_INTERVALS

SHOWN_CHANGES = 20


@click.group()
def strategy() -> None:
    """Your own strategies: write one, list them, check one for lookahead."""


@strategy.command("new")
@click.argument("name")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write it (default: BOTDESK_STRATEGY_PATH).",
)
def new(name: str, folder: Path | None) -> None:
    """Write NAME.py, a documented working strategy with its parameter model, to edit."""
    from botdesk.engine.strategies import registry

    if not NAME.match(name):
        raise click.BadParameter(
            "2-48 lower-case letters, digits or _, starting with a letter (e.g. my_trend)",
            param_hint="NAME",
        )
    if registry.is_built_in(name):
        raise click.BadParameter(f"{name} is a built-in strategy; choose another name")
    folder = folder or settings().STRATEGY_PATH
    if folder is None:
        raise click.UsageError("set BOTDESK_STRATEGY_PATH (your strategy folder) or pass --folder")
    path = Path(folder).expanduser() / f"{name}.py"
    if path.exists():
        raise click.ClickException(f"{path} exists already; nothing written")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(name))
    click.echo(f"wrote {path}")
    if (
        settings().STRATEGY_PATH is None
        or Path(folder).resolve() != Path(settings().STRATEGY_PATH).expanduser().resolve()
    ):
        click.echo(f"botdesk loads it once BOTDESK_STRATEGY_PATH={Path(folder).resolve()}")
    click.echo(f"next: botdesk strategy check {name}")


@strategy.command("list")
def list_strategies() -> None:
    """Every strategy with where it comes from; the ones that failed to load with their
    traceback (the exit status is then 1)."""
    from botdesk.engine.strategies import registry

    quiet_logging()
    report = load_strategies(quiet=True)
    width = max(len(name) for name in registry.STRATEGIES)
    for name in sorted(registry.STRATEGIES):
        cls = registry.STRATEGIES[name]
        click.echo(f"{name:<{width}}  {cls.title:<24}  {registry.SOURCES[name]}")
    for failure in report.failures:
        click.echo(f"\nFAILED {failure.source}: {failure.message}", err=True)
        if failure.traceback:
            click.echo(failure.traceback.rstrip(), err=True)
    if report.failures:
        sys.exit(1)


@strategy.command("check")
@click.argument("name")
@click.option(
    "--data",
    "data_source",
    default="sample",
    show_default=True,
    help="Kline CSV to check on, or 'sample' (the bundled 1m klines).",
)
@click.option("--symbol", default=None, help="Symbol (default: from the file's name, or BTCUSDT).")
@click.option(
    "--timeframe",
    type=click.Choice(list(FILE_INTERVALS)),
    default=None,
    help="Timeframe (default: the file's, from its name; 1m for the sample).",
)
@click.option("--params", default="{}", help="Strategy parameters as JSON (default: its defaults).")
@click.option("--cuts", default=40, show_default=True, type=click.IntRange(2, 2000))
def check(name, data_source, symbol, timeframe, params, cuts) -> None:
    """Run NAME on the history cut at many points and on the whole history: every signal
    that changes is lookahead (exit status 1); and how much history it needs (warm-up)."""
    from botdesk.engine.backtest.data import BacktestDataError, load_candles
    from botdesk.engine.research.lookahead import CheckError
    from botdesk.engine.research.lookahead import check as run_check
    from botdesk.engine.strategies import registry

    quiet_logging()
    load_strategies()
    try:
        parameters = json.loads(params)
        strategy_ = registry.create(name, parameters)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not valid JSON ({error})", param_hint="--params") from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    symbol, timeframe = data_names(data_source, symbol, timeframe)
    try:
        candles = load_candles(data_source, symbol=symbol, timeframe=timeframe)
        report = run_check(strategy_, candles, cuts=cuts)
    except (BacktestDataError, CheckError) as error:
        raise click.ClickException(str(error)) from None
    for line in describe(report):
        click.echo(line)
    if report.lookahead:
        sys.exit(1)


def data_names(source: str, symbol: str | None, timeframe: str | None) -> tuple[str, str]:
    """The symbol and timeframe to read `source` as, from its file name when not given."""
    from botdesk.engine.klines import name_parts

    named_symbol, named_interval = (None, None) if source == "sample" else name_parts(Path(source))
    symbol = (symbol or named_symbol or "BTCUSDT").upper()
    if timeframe is None:
        timeframe = named_interval if named_interval in FILE_INTERVALS else "1m"
    return symbol, timeframe


def describe(report) -> list[str]:
    from botdesk.engine.klines import format_ms

    lines = [
        f"check {report.strategy} {json.dumps(report.params, sort_keys=True)} "
        f"on {report.candles:,} candles, {report.cuts} cuts",
        report.summary(),
    ]
    for change in report.changes[:SHOWN_CHANGES]:
        lines.append(
            f"  row {change.row} ({format_ms(change.time_ms)}): {change.column} "
            f"{change.whole:g} on the whole history, {change.cut:g} with the history cut "
            f"after row {change.cut_after}"
        )
    if len(report.changes) > SHOWN_CHANGES:
        lines.append(f"  ... {len(report.changes) - SHOWN_CHANGES} more")
    needed = report.warmup_needed
    lines.append(
        f"warm-up: {'never settled' if needed is None else f'{needed} candles'} "
        f"({report.warmup_starts} later starts); lookback declared {report.declared_lookback}"
    )
    lines += [f"warning: {text}" for text in report.warnings()]
    lines += [f"note: the strategy failed {text}" for text in report.cut_errors[:5]]
    return lines
