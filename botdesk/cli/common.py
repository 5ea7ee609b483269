"""Helpers shared by the CLI commands: settings, database, the actor name for the audit log."""

import getpass
import logging

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
