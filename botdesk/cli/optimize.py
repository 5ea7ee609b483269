"""`botdesk optimize`: search a strategy's parameters with Optuna over one history, each
trial an ordinary backtest; the study is kept in the database so several processes (and
the desk) share it."""

import json
import sys
from datetime import UTC, datetime

import click

from botdesk.cli.backtest import _decimal, _sizing
from botdesk.cli.common import load_strategies, quiet_logging, settings, utc_ms
from botdesk.db.backtest_runs import RISK, SIZINGS
from botdesk.engine.timeframes import FILE_INTERVALS

OBJECTIVES = ("sharpe", "sortino", "profit_factor", "return_over_drawdown", "expectancy")
SAMPLERS = ("tpe", "random", "grid")
STORED = ("stored", "candles")


def data_source_of(value: str) -> str:
    return "candles" if value in STORED else value


def study_options(command):
    """The options an optimisation and a walk-forward share."""
    options = [
        click.option("--strategy", required=True, help="Strategy name, e.g. ema_cross."),
        click.option("--symbol", required=True, help="Symbol, e.g. BTCUSDT."),
        click.option("--timeframe", required=True, type=click.Choice(list(FILE_INTERVALS))),
        click.option(
            "--data",
            "data_source",
            required=True,
            help="Kline CSV, 'stored' (the candle table) or 'sample' (the bundled klines).",
        ),
        click.option("--trials", default=100, show_default=True, type=click.IntRange(1, 100000)),
        click.option(
            "--objective", type=click.Choice(OBJECTIVES), default="sharpe", show_default=True
        ),
        click.option(
            "--min-trades",
            default=10,
            show_default=True,
            type=click.IntRange(0, 1_000_000),
            help="A trial with fewer trades has no value (pruned).",
        ),
        click.option("--sampler", type=click.Choice(SAMPLERS), default="tpe", show_default=True),
        click.option(
            "--grid-points",
            default=5,
            show_default=True,
            type=click.IntRange(2, 100),
            help="Values per parameter with --sampler grid (evenly spread over its bounds).",
        ),
        click.option("--seed", type=int, default=None, help="Sampler seed, for a repeatable run."),
        click.option(
            "--params", default="{}", help="Parameters held fixed (not searched), as JSON."
        ),
        click.option("--from", "from_", default=None, help="First candle, ISO date (UTC)."),
        click.option("--to", default=None, help="Last candle, ISO date (UTC)."),
        click.option("--fee", default=None, help="Fee rate (default BOTDESK_FEE_RATE)."),
        click.option("--slippage-bps", default=None, help="Slippage, bps (default from settings)."),
        click.option("--capital", default="10000", show_default=True, help="Starting cash."),
        click.option(
            "--sizing",
            type=click.Choice(list(SIZINGS)),
            default=RISK,
            show_default=True,
            help="risk: as a live bot with the desk's risk limits; all-cash: all the cash.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def settings_from_options(options: dict):
    """StudySettings from the shared options (click errors for bad values)."""
    from decimal import Decimal

    from botdesk.engine.research.studies import StudyError, StudySettings

    config = settings()
    try:
        fixed = json.loads(options["params"])
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not valid JSON ({error})", param_hint="--params") from None
    if not isinstance(fixed, dict):
        raise click.BadParameter("a JSON object, e.g. '{\"stop_atr\": 0}'", param_hint="--params")
    fee, slippage = options["fee"], options["slippage_bps"]
    try:
        return StudySettings(
            strategy=options["strategy"],
            symbol=options["symbol"].upper(),
            timeframe=options["timeframe"],
            data_source=data_source_of(options["data_source"]),
            from_ms=utc_ms(options["from_"], "--from"),
            to_ms=utc_ms(options["to"], "--to"),
            objective=options["objective"],
            min_trades=options["min_trades"],
            sampler=options["sampler"],
            grid_points=options["grid_points"],
            seed=options["seed"],
            fee_rate=config.FEE_RATE if fee is None else _decimal(fee, "--fee", 0, Decimal("0.1")),
            slippage_bps=config.SLIPPAGE_BPS
            if slippage is None
            else _decimal(slippage, "--slippage-bps", 0, Decimal(1000)),
            capital=_decimal(options["capital"], "--capital", Decimal(1), Decimal(10**9)),
            sizing=_sizing(options["sizing"]),
            fixed=fixed,
            trials=options["trials"],
        )
    except StudyError as error:
        raise click.ClickException(str(error)) from None


def load_study_history(study_settings, db):
    from botdesk.engine.backtest.data import load_history

    try:
        return load_history(
            study_settings.data_source,
            symbol=study_settings.symbol,
            timeframe=study_settings.timeframe,
            from_ms=study_settings.from_ms,
            to_ms=study_settings.to_ms,
            db=db,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def lookahead_warning(study_settings, history) -> str | None:
    """The check run when an optimisation is created: a line to show, or None if clean."""
    from botdesk.engine.research.lookahead import CheckError, check
    from botdesk.engine.strategies import registry

    try:
        strategy = registry.create(study_settings.strategy, study_settings.fixed)
        report = check(strategy, history.candles)
    except (ValueError, CheckError) as error:
        return f"the lookahead check could not run: {error}"
    if report.lookahead:
        return (
            f"{report.summary()}: this strategy looks at candles after the one it signals on; "
            f"its backtests are not to be trusted (`botdesk strategy check {strategy.name}`)"
        )
    return None


@click.command()
@study_options
@click.option(
    "--study",
    "study_name",
    default=None,
    help="Study name; a study of that name with the same settings is joined (several "
    "processes may run one study). Default: strategy-symbol-timeframe-time.",
)
def optimize(study_name, **options) -> None:
    """Optimise a strategy's parameters with Optuna: every trial a backtest; the study is
    stored in the database (the desk's Research page shows it)."""
    from botdesk.cli.common import database
    from botdesk.engine.research import studies

    quiet_logging()
    load_strategies()
    wanted = settings_from_options(options)
    name = study_name or (
        f"{wanted.strategy}-{wanted.symbol}-{wanted.timeframe}-"
        f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
    )
    db = database()
    try:
        storage = studies.storage_for(settings().DATABASE_URL)
        study, joined = studies.open_study(storage, name, wanted)
    except studies.StudyError as error:
        raise click.ClickException(str(error)) from None
    history = load_study_history(wanted, db)
    if not joined and (warning := lookahead_warning(wanted, history)):
        study.set_user_attr("lookahead", warning)
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{'joined' if joined else 'created'} study {name}: {wanted.strategy} on "
        f"{wanted.symbol} {wanted.timeframe}, {len(history.candles):,} candles, "
        f"objective {wanted.objective} (min {wanted.min_trades} trades), {wanted.sampler}"
    )

    def progress(done: int) -> None:
        if sys.stderr.isatty():
            click.echo(f"\rtrials {done}/{options['trials']}", err=True, nl=False)

    try:
        studies.run_trials(study, wanted, history, options["trials"], progress=progress)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if sys.stderr.isatty():
        click.echo("", err=True)
    for line in best_lines(study, wanted):
        click.echo(line)


def best_lines(study, study_settings, count: int = 5) -> list[str]:
    from botdesk.engine.research.studies import completed

    trials = study.get_trials(deepcopy=False)
    best = completed(study)
    states: dict[str, int] = {}
    for trial in trials:
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    lines = [f"trials: {', '.join(f'{n} {s}' for s, n in sorted(states.items()))}"]
    if not best:
        lines.append("no trial has a value (see --min-trades)")
        return lines
    lines.append(f"best {min(count, len(best))} by {study_settings.objective}:")
    for trial in best[:count]:
        found = trial.user_attrs.get("figures", {})
        params = {**study_settings.fixed, **trial.params}
        lines.append(
            f"  #{trial.number:<5} {study_settings.objective} {trial.value:.4f}  "
            f"trades {found.get('trades')}  return {found.get('total_return', 0):+.2%}  "
            f"max dd {found.get('max_drawdown', 0):.2%}  {json.dumps(params, sort_keys=True)}"
        )
    top = {**study_settings.fixed, **best[0].params}
    lines.append(f"backtest the best: {backtest_command(study_settings, top)}")
    return lines


def backtest_command(study_settings, params: dict) -> str:
    """The `botdesk backtest` that re-runs a trial with the study's data, costs and sizing
    (risk sizing reads the desk's limits when it runs: the same figures while they hold)."""
    from botdesk.engine.backtest.runs import iso

    s = study_settings
    data = "stored" if s.data_source == "candles" else s.data_source
    parts = [
        f"botdesk backtest --strategy {s.strategy} --symbol {s.symbol} --timeframe {s.timeframe}",
        f"--data {data}",
        f"--params '{json.dumps(params, sort_keys=True)}'",
        f"--fee {s.fee_rate} --slippage-bps {s.slippage_bps} --capital {s.capital}",
        f"--sizing {s.sizing.mode}",
    ]
    if s.from_ms is not None:
        parts.append(f"--from {iso(s.from_ms)}")
    if s.to_ms is not None:
        parts.append(f"--to {iso(s.to_ms)}")
    return " ".join(parts)
