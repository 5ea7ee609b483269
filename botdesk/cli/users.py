"""`botdesk user ...`: manage desk accounts from the command line."""

import sys

import click

from botdesk.app.passwords import WeakPassword, check_strength, hash_password
from botdesk.cli.common import actor, database
from botdesk.db import audit, lockout, users
from botdesk.db.users import UserError

ROLES = click.Choice(["viewer", "trader", "admin"])


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise click.UsageError("no terminal to prompt on: pass the password with --password-stdin")
    try:
        check_strength(password)
    except WeakPassword as error:
        raise click.BadParameter(str(error), param_hint="password") from None
    return password


@click.group()
def user() -> None:
    """Manage desk users (roles: viewer, trader, admin)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=ROLES, required=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add(username: str, role: str, password_stdin: bool) -> None:
    """Create USERNAME with a password (prompted, or read with --password-stdin)."""
    password = read_password(password_stdin)
    try:
        with database().writing() as session:
            created = users.create(
                session=session,
                username=username,
                password_hash=hash_password(password),
                role=role,
            )
            audit.record(
                session=session,
                actor=actor(),
                action="user.create",
                target=f"user:{created.username}",
                details={"role": role},
            )
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {created.username} ({role})")


@user.command("list")
def list_users() -> None:
    """List users with role, state and 2FA."""
    with database().reading() as session:
        rows = users.all_users(session=session)
    click.echo(f"{'username':<24} {'role':<8} {'state':<22} {'2fa':<7} last login (UTC)")
    for row in rows:
        until = lockout.locked_until(row)
        state = "disabled" if row.disabled else "active"
        if until:
            state = f"locked to {until:%H:%M} UTC"
        last = row.last_login_at.strftime("%Y-%m-%d %H:%M") if row.last_login_at else "never"
        two_fa = "on" if row.totp_enabled else "pending" if row.totp_secret_encrypted else "off"
        click.echo(f"{row.username:<24} {row.role:<8} {state:<22} {two_fa:<7} {last}")


def _change(username: str, action: str, change, details: dict | None = None) -> None:
    try:
        with database().writing() as session:
            target = users.require(session=session, username=username)
            change(session, target)
            audit.record(
                session=session,
                actor=actor(),
                action=action,
                target=f"user:{target.username}",
                details=details,
            )
    except UserError as error:
        raise click.ClickException(str(error)) from None


@user.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLES)
def set_role(username: str, role: str) -> None:
    """Give USERNAME the ROLE (viewer, trader or admin); ends the user's sessions."""
    _change(
        username,
        "user.set_role",
        lambda session, target: users.set_role(session=session, user=target, role=role, by=actor()),
        {"role": role},
    )
    click.echo(f"{username} is now {role}")


@user.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable USERNAME: no login, every session ended, API keys refused."""
    _change(
        username,
        "user.disable",
        lambda session, target: users.set_disabled(session=session, user=target, disabled=True),
    )
    click.echo(f"{username} disabled")


@user.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled USERNAME again."""
    _change(
        username,
        "user.enable",
        lambda session, target: users.set_disabled(session=session, user=target, disabled=False),
    )
    click.echo(f"{username} enabled")


@user.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """End USERNAME's lockout (after 5 wrong passwords or codes) now."""
    _change(
        username,
        "user.unlock",
        lambda session, target: lockout.unlock(session=session, user=target),
    )
    click.echo(f"{username} unlocked")


@user.command("reset-2fa")
@click.argument("username")
def reset_2fa(username: str) -> None:
    """Remove USERNAME's two-factor and backup codes and end their sessions.

    For a lost phone: the user sets up two-factor again at the next sign-in.
    """
    _change(
        username,
        "2fa.reset",
        lambda session, target: users.reset_two_factor(session=session, user=target),
    )
    click.echo(f"{username}: two-factor removed; they set it up again at their next sign-in")
