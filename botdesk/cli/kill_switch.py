"""`botdesk kill-switch engage|release|status`: the kill switch from a shell on the host.

Whoever has a shell on the desk's host can already read its database, so the CLI acts with
the admin role; every use is in the audit log under `cli:<os user>`.
"""

import click

from botdesk.cli.common import actor, database
from botdesk.db import kill_switch
from botdesk.db.kill_switch import KillSwitchError
from botdesk.db.models import Role


@click.group("kill-switch")
def kill_switch_group() -> None:
    """Halt every bot and cancel every order (engage), or allow trading again (release)."""


@kill_switch_group.command("engage")
@click.option("--reason", required=True, help="Why: recorded and shown on every desk page.")
@click.option(
    "--flatten",
    is_flag=True,
    help="Also close every position at market (the stops Binance holds for them are "
    "cancelled first; without --flatten they stay).",
)
def engage(reason: str, flatten: bool) -> None:
    """Engage the kill switch: no order leaves the engine until an admin releases it."""
    try:
        with database().writing() as session:
            command = kill_switch.engage(
                session=session,
                by=actor(),
                role=Role.ADMIN,
                reason=reason,
                flatten=flatten,
                via="cli",
            )
    except KillSwitchError as error:
        raise click.ClickException(str(error)) from None
    mode = "halt and flatten" if flatten else "halt"
    click.echo(f"kill switch ENGAGED ({mode}); engine command {command.id} queued")


@kill_switch_group.command("release")
@click.option("--reason", required=True, help="Why trading may resume: recorded.")
def release(reason: str) -> None:
    """Release the kill switch. Bots stay stopped until started again."""
    try:
        with database().writing() as session:
            kill_switch.release(
                session=session, by=actor(), role=Role.ADMIN, reason=reason, via="cli"
            )
    except KillSwitchError as error:
        raise click.ClickException(str(error)) from None
    click.echo("kill switch released; bots stay stopped until started again")


def stamp(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@kill_switch_group.command("status")
def show_status() -> None:
    """Show whether the kill switch is engaged, by whom, when and why."""
    with database().reading() as session:
        state = kill_switch.status(session=session)
    if state.engaged:
        mode = "halt and flatten" if state.flatten else "halt"
        click.echo(
            f"ENGAGED ({mode}) by {state.engaged_by} at {stamp(state.engaged_at)}: {state.reason}"
        )
    elif state.released_at:
        click.echo(
            f"released by {state.released_by} at {stamp(state.released_at)}: {state.release_reason}"
        )
    else:
        click.echo("off (never engaged)")
