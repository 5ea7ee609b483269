"""`botdesk ml external`: external time series (sentiment, fear and greed, on-chain flows)
imported from CSV files, for models to use as features (`botdesk ml train --external`)."""

import click

from botdesk.cli.common import database


@click.group()
def external() -> None:
    """External time series for models (see docs/ml.md)."""


@external.command(name="import")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False))
def import_series(name, path) -> None:
    """Store the points of a time,value CSV as the series NAME (points already stored
    are kept as they were)."""
    from botdesk.ml import external as series

    try:
        series.check_name(name)
        times, values = series.read_csv(path)
        with database().writing() as session:
            series.store(session=session, name=name, times=times, values=values)
    except series.ExternalError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{len(times)} points of {name} read from {path}")
