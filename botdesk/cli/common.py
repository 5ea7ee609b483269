"""Helpers shared by the CLI commands: settings, database, the actor name for the audit log."""

import getpass
import logging
import re
from datetime import UTC, datetime

import click

from botdesk.db.session import Database, database_for
from botdesk.settings import Settings, get_settings


def settings() -> Settings:
    try:
        return get_settings()
    except Exception as error:  # pydantic ValidationError: a bad BOTDESK_* value
        raise click.ClickException(f"invalid settings: {error}") from None


def database() -> Database:
    return database_for(settings().DATABASE_URL)


def actor() -> str:
    """Who ran the command, as recorded in the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli"


def quiet_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def utc_ms(value: str | None, option: str) -> int | None:
    """An ISO 8601 date or time given on the command line (UTC unless it says otherwise),
    as epoch milliseconds."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: use ISO 8601, e.g. 2024-10-28 or 2024-10-28T12:00 (UTC)",
            param_hint=option,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def load_strategies(*, quiet: bool = False):
    """Load the user's strategies (BOTDESK_STRATEGY_PATH, installed packages); each one that
    failed is told on stderr unless `quiet` (the caller shows them)."""
    from botdesk.engine.strategies.loader import load_user_strategies

    report = load_user_strategies(settings().STRATEGY_PATH, log_failures=False)
    if not quiet:
        for failure in report.failures:
            click.echo(
                f"warning: strategy not loaded from {failure.source}: {failure.message} "
                "(`botdesk strategy list` shows the traceback)",
                err=True,
            )
    return report


SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")


def checked_symbol(_context, _parameter, value: str | None) -> str | None:
    """A `--symbol` as botdesk stores it (upper case); anything else is refused with a
    clear message (a click option callback)."""
    if value is None:
        return None
    symbol = value.strip().upper()
    if not SYMBOL.match(symbol):
        raise click.BadParameter(f"{value!r} is not a symbol such as BTCUSDT")
    return symbol
