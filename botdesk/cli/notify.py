"""`botdesk notify add|list|remove|test`: notification channels from a shell on the host.

Like the kill switch commands, the CLI acts with the admin role; every change is in the
audit log under `cli:<os user>`. URLs are Apprise URLs and are shown back masked.
"""

import click

from botdesk.cli.common import actor, database, settings
from botdesk.db import notification_channels
from botdesk.db.notification_channels import ChannelError
from botdesk.db.notification_kinds import KINDS, SEVERITIES


@click.group("notify")
def notify() -> None:
    """Notification channels (Telegram, email, Discord, Slack, ntfy, JSON webhooks...)."""


@notify.command("add")
@click.argument("name")
@click.argument("url")
@click.option(
    "--events",
    default="",
    metavar="KIND,KIND...",
    help="Event kinds this channel gets (default: every kind). Kinds: " + ", ".join(KINDS),
)
@click.option(
    "--min-severity",
    type=click.Choice(SEVERITIES),
    default="info",
    show_default=True,
    help="The least severity this channel gets.",
)
def add(name: str, url: str, events: str, min_severity: str) -> None:
    """Add channel NAME delivering to the Apprise URL (e.g. tgram://TOKEN/CHAT_ID,
    mailto://user:password@example.com, json://host:port/path). The URL is stored
    encrypted and shown masked."""
    try:
        with database().writing() as session:
            channel = notification_channels.add(
                session=session,
                name=name,
                url=url,
                events=events,
                min_severity=min_severity,
                by=actor(),
                settings=settings(),
            )
    except ChannelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"channel {channel.name} added: {channel.url_masked}")


@notify.command("list")
def list_channels() -> None:
    """List the channels: name, masked URL, event kinds, least severity."""
    with database().reading() as session:
        channels = notification_channels.all_channels(session=session)
    if not channels:
        click.echo("no channels (add one with `botdesk notify add NAME URL`)")
    for channel in channels:
        kinds = channel.events or "all events"
        click.echo(f"{channel.name}\t{channel.url_masked}\t{kinds}\t>= {channel.min_severity}")


@notify.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove channel NAME (its queued deliveries go with it)."""
    try:
        with database().writing() as session:
            notification_channels.remove(session=session, name=name, by=actor())
    except ChannelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"channel {name} removed")


@notify.command("test")
@click.argument("name")
def test(name: str) -> None:
    """Send a test message to channel NAME now and say whether it was delivered."""
    from botdesk.alerts.channel_test import send_test

    try:
        result = send_test(database(), settings(), name=name, by=actor())
    except ChannelError as error:
        raise click.ClickException(str(error)) from None
    if not result.ok:
        raise click.ClickException(
            f"test message to {name} not delivered: {result.error} "
            "(the watchdog retries it with backoff)"
        )
    click.echo(f"test message delivered to {name} (event {result.dedupe_id})")
