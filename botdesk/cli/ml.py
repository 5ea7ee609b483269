"""`botdesk ml`: train a model with an honest out-of-sample report, list the versions,
promote one, roll back, bring the feature store up to date."""

import json
import sys
from datetime import UTC, datetime

import click

from botdesk.cli.common import actor, checked_symbol, database, quiet_logging, utc_ms
from botdesk.cli.ml_external import external
from botdesk.engine.timeframes import FILE_INTERVALS

TIMEFRAMES = click.Choice(list(FILE_INTERVALS))


def market_options(command):
    """--symbol and --timeframe, required: the market a model is trained for."""
    command = click.option("--timeframe", required=True, type=TIMEFRAMES, help="Candle timeframe.")(
        command
    )
    return click.option(
        "--symbol", required=True, callback=checked_symbol, help="Symbol, e.g. BTCUSDT."
    )(command)


def tune_option(command):
    """--tune N: the LightGBM parameters by N Optuna trials (train and retrain alike)."""
    return click.option(
        "--tune",
        "tune_trials",
        default=0,
        show_default=True,
        type=click.IntRange(0, 500),
        help="Choose the LightGBM parameters by N Optuna trials on the inner walk-forward "
        "folds (before the out-of-sample span); 0 keeps the fixed ones.",
    )(command)


@click.group()
def ml() -> None:
    """Machine-learning models: train, list, promote, roll back (see docs/ml.md)."""


ml.add_command(external)


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


class _Progress:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self):
        self.shown = False

    def __call__(self, what: str, fraction: float) -> None:
        if not sys.stderr.isatty():
            return
        self.shown = True
        filled = int(30 * fraction)
        bar = "#" * filled + "-" * (30 - filled)
        click.echo(f"\rtrain [{bar}] {fraction:4.0%} {what:<14}", err=True, nl=False)

    def done(self) -> None:
        if self.shown:
            click.echo("", err=True)


def _number(value, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def report_lines(version: int, figures: dict) -> list[str]:
    """The report as the terminal shows it (also `botdesk ml show`)."""
    c = figures["classification"]
    b = figures["backtests"]
    span = b["span"]
    lines = [
        f"model {version}: {figures['symbol']} {figures['timeframe']}, label "
        f"{json.dumps(figures['label'])}, feature set v{figures['feature_set_version']}",
        f"out of sample: {_when(span['from_ms'])} to {_when(span['to_ms'])} UTC, "
        f"{c['samples']:,} predictions over {len(figures['folds'])} walk-forward folds",
        "",
        f"accuracy {c['accuracy']:.3f}   (always the most frequent class: "
        f"{c['majority_accuracy']:.3f})   macro F1 {c['macro_f1']:.3f}",
        f"{'class':<6} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}",
    ]
    for name, row in c["per_class"].items():
        lines.append(
            f"{name:<6} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} "
            f"{row['support']:>8,}"
        )
    lines += ["confusion (rows actual, columns predicted: sell, hold, buy)"]
    lines += ["  " + " ".join(f"{n:>7,}" for n in row) for row in c["confusion"]]
    lines += [
        "",
        f"backtest on the same candles (fee {b['costs']['fee_rate']}, all cash)",
        f"{'strategy':<13} {'return':>8} {'max dd':>7} {'sharpe':>7} {'trades':>7}",
    ]
    for name in ("model", "always_hold", "buy_and_hold", "ema_cross"):
        m = b[name]
        lines.append(
            f"{name:<13} {m['total_return']:>+8.2%} {m['max_drawdown']:>7.2%} "
            f"{_number(m['sharpe'], '7.2f'):>7} {m['trades']:>7}"
        )
    tuned = figures.get("tuning")
    if tuned:
        chosen = ", ".join(f"{name} {value:.4g}" for name, value in tuned["params"].items())
        lines += [
            "",
            f"parameters by {tuned['trials']} Optuna trials on {tuned['inner_folds']} inner "
            f"folds ({_when(tuned['inner_from_ms'])} to {_when(tuned['inner_to_ms'])}, before "
            f"the out-of-sample span; inner macro F1 {tuned['best_inner_macro_f1']:.3f}): "
            f"{chosen}",
        ]
    t = figures["timings"]
    lines += [
        "",
        f"features {t['features_s']:.1f} s, walk-forward {t['walk_forward_s']:.1f} s, final "
        f"model {t['final_fit_s']:.1f} s, prediction {t['predict_ms_per_candle']:.3f} ms a candle",
    ]
    return lines


@ml.command()
@market_options
@click.option(
    "--data",
    "data_source",
    default="stored",
    show_default=True,
    help="'stored' (the candle table and the feature store), a kline CSV, or 'sample'.",
)
@click.option(
    "--label",
    default="forward:horizon=12,threshold=0.01",
    show_default=True,
    help="forward:horizon=N,threshold=R or triple_barrier:horizon=N,take_profit=K,stop_loss=K "
    "(K in ATR(14)).",
)
@click.option("--from", "from_", default=None, help="First candle of the window, ISO (UTC).")
@click.option("--to", default=None, help="Last candle of the window, ISO (UTC).")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(1, 20))
@click.option(
    "--embargo",
    default=None,
    type=click.IntRange(0, 10_000),
    help="Candles left out before each test window beyond the purge (default: the horizon).",
)
@click.option("--rounds", default=200, show_default=True, type=click.IntRange(10, 5000))
@click.option(
    "--min-confidence",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="The model's strategy buys only with p(buy) at least this.",
)
@click.option(
    "--external",
    "external_series",
    multiple=True,
    help="An imported external series to add as a feature (ext_NAME); repeat for more.",
)
@tune_option
def train(
    symbol,
    timeframe,
    data_source,
    label,
    from_,
    to,
    folds,
    embargo,
    rounds,
    min_confidence,
    external_series,
    tune_trials,
) -> None:
    """Train a LightGBM model, validate it walk-forward, print the out-of-sample report
    beside the baselines and store it as a new version (a candidate, not promoted)."""
    from botdesk.ml.labels import LabelError, LabelSpec
    from botdesk.ml.runs import TrainRequest, train
    from botdesk.ml.training import TrainSettings

    quiet_logging()
    try:
        spec = LabelSpec.parse(label)
    except LabelError as error:
        raise click.BadParameter(str(error), param_hint="--label") from None
    request = TrainRequest(
        symbol=symbol.upper(),
        timeframe=timeframe,
        data_source=data_source,
        label=spec,
        from_ms=utc_ms(from_, "--from"),
        to_ms=utc_ms(to, "--to"),
        settings=TrainSettings(
            folds=folds,
            embargo=embargo,
            rounds=rounds,
            min_confidence=min_confidence,
            external=tuple(dict.fromkeys(external_series)),
        ),
        tune_trials=tune_trials,
    )
    progress = _Progress()
    try:
        result = train(request, db=database(), created_by=actor(), progress=progress)
    except ValueError as error:
        progress.done()
        raise click.ClickException(str(error)) from None
    progress.done()
    for line in report_lines(result.model.id, result.report):
        click.echo(line)
    click.echo(f"\nstored as model {result.model.id} (candidate; `botdesk ml promote` to use it)")


@ml.command()
@click.argument("command_id", type=int)
def job(command_id) -> None:
    """Run the training queued as command COMMAND_ID (from the Models page): the engine
    starts this in a process of its own; it writes its progress into the command."""
    import contextlib
    import os

    from botdesk.ml import jobs

    quiet_logging()
    with contextlib.suppress(OSError):
        os.nice(10)  # below the engine: training must not slow a candle down
    try:
        click.echo(jobs.run(database(), command_id))
    except (ValueError, LookupError) as error:
        raise click.ClickException(str(error)) from None


@ml.command(name="list")
@click.option("--symbol", default=None, callback=checked_symbol)
@click.option("--timeframe", default=None, type=TIMEFRAMES)
def list_models(symbol, timeframe) -> None:
    """Model versions, newest first, with their out-of-sample figures."""
    from botdesk.ml import registry

    with database().reading() as session:
        found = registry.models(
            session=session, symbol=symbol.upper() if symbol else None, timeframe=timeframe
        )
        rows = [(m, registry.report_of(m)) for m in found]
    if not rows:
        click.echo("no models yet (`botdesk ml train`)")
        return
    click.echo(
        f"{'version':>7}  {'market':<14} {'status':<11} {'window':<33} {'accuracy':>8} "
        f"{'model ret':>9} {'b&h ret':>8}  label"
    )
    for model, figures in rows:
        b = figures["backtests"]
        click.echo(
            f"{model.id:>7}  {model.symbol + ' ' + model.timeframe:<14} {model.status:<11} "
            f"{_when(model.train_from_ms) + ' to ' + _when(model.train_to_ms):<33} "
            f"{figures['classification']['accuracy']:>8.3f} "
            f"{b['model']['total_return']:>+9.2%} {b['buy_and_hold']['total_return']:>+8.2%}  "
            f"{model.label}"
        )


@ml.command()
@click.argument("version", type=int)
def show(version) -> None:
    """A model's out-of-sample report and its ten most important features."""
    from botdesk.ml import registry

    with database().reading() as session:
        try:
            model = registry.get(session=session, version=version)
        except registry.RegistryError as error:
            raise click.ClickException(str(error)) from None
        figures, importance = registry.report_of(model), json.loads(model.importance)
    for line in report_lines(version, figures):
        click.echo(line)
    click.echo("\nmost important features (gain)")
    for name, gain in list(importance.items())[:10]:
        click.echo(f"  {name:<18} {gain:>14,.1f}")


@ml.command()
@click.argument("version", type=int)
@click.option("--reason", default=None, help="Why, for the audit log.")
def promote(version, reason) -> None:
    """Make VERSION the champion of its symbol and timeframe (bots use it)."""
    from botdesk.ml import registry

    try:
        with database().writing() as session:
            model = registry.promote(session=session, version=version, actor=actor(), reason=reason)
            market = f"{model.symbol} {model.timeframe}"
    except (registry.RegistryError, registry.Unloadable) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"model {version} is now the champion of {market}")


@ml.command()
@market_options
@click.option("--reason", default=None, help="Why, for the audit log.")
def rollback(symbol, timeframe, reason) -> None:
    """Take the champion of SYMBOL TIMEFRAME off and restore the one it replaced."""
    from botdesk.ml import registry

    try:
        with database().writing() as session:
            model = registry.rollback(
                session=session,
                symbol=symbol.upper(),
                timeframe=timeframe,
                actor=actor(),
                reason=reason,
            )
            version = model.id
    except (registry.RegistryError, registry.Unloadable) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"rolled back: model {version} is the champion of {symbol.upper()} {timeframe}")


@ml.command()
@market_options
def features(symbol, timeframe) -> None:
    """Compute and store the feature rows of the stored candles that have none yet."""
    from botdesk.ml import feature_store

    try:
        added = feature_store.update(database(), symbol=symbol.upper(), timeframe=timeframe)
    except (ValueError, feature_store.FeatureSetChanged) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{added} new feature rows for {symbol.upper()} {timeframe}")


@ml.command()
@market_options
@click.option(
    "--holdout",
    default=720,
    show_default=True,
    type=click.IntRange(50, 100_000),
    help="Latest stored candles kept from the challenger, on which both models are scored.",
)
@click.option(
    "--margin",
    default=0.02,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Macro F1 the challenger must gain over the champion on the holdout.",
)
@tune_option
def retrain(symbol, timeframe, holdout, margin, tune_trials) -> None:
    """Train a challenger on the stored candles and promote it only if it beats the
    champion on the latest candles by MARGIN (run it in its own process, e.g. from cron);
    with --tune its parameters are chosen by Optuna first, as `ml train --tune` does."""
    from botdesk.ml.retraining import retrain as run

    quiet_logging()
    try:
        outcome = run(
            database(),
            symbol=symbol.upper(),
            timeframe=timeframe,
            holdout=holdout,
            margin=margin,
            tune_trials=tune_trials,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(outcome.describe())


@ml.command()
@market_options
@click.option(
    "--margin",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="How far the live hit rate may fall below the validation accuracy.",
)
@click.option("--min-samples", default=100, show_default=True, type=click.IntRange(1, 10**6))
def monitor(symbol, timeframe, margin, min_samples) -> None:
    """The champion's hit rate on the stored candles after its window against its
    validation figure; a degraded champion gets a risk event (exit status 3)."""
    from botdesk.ml.monitor import check

    quiet_logging()
    try:
        result = check(
            database(),
            symbol=symbol.upper(),
            timeframe=timeframe,
            margin=margin,
            min_samples=min_samples,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if result is None:
        raise click.ClickException(f"{symbol.upper()} {timeframe} has no champion model")
    click.echo(result.describe())
    if result.degraded:
        sys.exit(3)
