"""`botdesk walk-forward`: optimise on each training window, trade the next test window
with what it chose, stitch the test windows' equity; stored for the desk."""

import json

import click

from botdesk.cli.backtest import _duration
from botdesk.cli.common import actor, database, load_strategies, quiet_logging
from botdesk.cli.optimize import lookahead_warning, settings_from_options, study_options


def _candles(value: str, option: str, candle_ms: int) -> int:
    try:
        span = _duration(value)
    except click.BadParameter:
        raise click.BadParameter(
            f"{value!r} is not a duration such as 90d or 720h", param_hint=option
        ) from None
    if span % candle_ms:
        raise click.BadParameter(f"{value} is not a whole number of candles", param_hint=option)
    return span // candle_ms


@click.command("walk-forward")
@study_options
@click.option("--train", required=True, help="Training window, e.g. 90d (days, h, m).")
@click.option("--test", "test_span", required=True, help="Test window that follows, e.g. 30d.")
@click.option("--step", default=None, help="How far windows move (default: the test window).")
@click.option("--anchored", is_flag=True, help="Training windows all start at the first candle.")
def walk_forward(train, test_span, step, anchored, **options) -> None:
    """Walk-forward analysis: per window, the parameters optimised in sample (--trials
    each), traded out of sample; prints each window and the stitched figures, stores the
    run for the desk (Research page)."""
    from botdesk.db import walk_forward_runs
    from botdesk.engine.research.runs import (
        execute_walk_forward,
        history_for,
        walk_forward_settings,
    )
    from botdesk.engine.timeframes import timeframe_ms

    quiet_logging()
    load_strategies()
    wanted = settings_from_options(options)
    candle_ms = timeframe_ms(wanted.timeframe)
    cut = {
        "train": _candles(train, "--train", candle_ms),
        "test": _candles(test_span, "--test", candle_ms),
        "step": _candles(step, "--step", candle_ms) if step else None,
        "anchored": anchored,
        "trials": options["trials"],
    }
    db = database()
    try:
        history = history_for(wanted, db)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if warning := lookahead_warning(wanted, history):
        click.echo(f"warning: {warning}", err=True)
    with db.writing() as session:
        row, _ = walk_forward_runs.create(
            session=session, settings=walk_forward_settings(wanted, **cut), created_by=actor()
        )
    click.echo(
        f"walk_forward_run {row.id}: {wanted.strategy} on {wanted.symbol} {wanted.timeframe}"
    )
    try:
        row, said = execute_walk_forward(db, row.id)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    for line in describe(walk_forward_runs.result_of(row)):
        click.echo(line)
    click.echo(said)


def describe(result: dict) -> list[str]:
    from botdesk.engine.klines import format_ms

    def percent(value):
        return "n/a" if value is None else f"{value:+.2%}"

    def ratio(value):
        return "n/a" if value is None else f"{value:.2f}"

    lines = ["window  test from         in-sample  out-of-sample  efficiency  parameters"]
    for row in result["windows"]:
        ins, oos = row["in_sample"] or {}, row["out_of_sample"] or {}
        chosen = json.dumps(row["params"], sort_keys=True) if row["params"] else "no value"
        lines.append(
            f"{row['window']:>6}  {format_ms(row['test_from_ms'])[:16]:<16} "
            f"{percent(ins.get('total_return')):>9}  {percent(oos.get('total_return')):>13}  "
            f"{ratio(row['efficiency']):>10}  "
            f"{chosen}"
        )
    figures = result["figures"]
    if figures:
        lines.append(
            f"stitched out of sample: {figures['candles']:,} candles, {figures['trades']} trades, "
            f"return {percent(figures['total_return'])}, max drawdown "
            f"{figures['max_drawdown']:.2%}, sharpe {ratio(figures['sharpe'])}, "
            f"walk-forward efficiency {ratio(figures['efficiency'])}"
        )
    return lines
