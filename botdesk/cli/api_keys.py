"""`botdesk apikey create|revoke|list`: API keys for scripts, from a shell on the host.

The CLI acts as an admin (a shell on the host can read the database anyway), so it can
create keys for anyone, but never above the owner's role; every change is audited under
`cli:<os user>`.
"""

import click

from botdesk.cli.common import actor, database
from botdesk.db import api_keys, users
from botdesk.db.api_keys import ApiKeyError
from botdesk.db.models import Role
from botdesk.db.users import UserError

SCOPES = click.Choice(["read", "trade", "admin"])


@click.group("apikey")
def apikey() -> None:
    """Create, list and revoke API keys (header X-API-Key on /api/v1)."""


@apikey.command("create")
@click.argument("username")
@click.option(
    "--scope", type=SCOPES, required=True, help="read, trade or admin (at most the role)."
)
@click.option("--name", default=None, help="What the key is for, e.g. 'grafana'.")
@click.option(
    "--expires-days",
    type=click.IntRange(api_keys.MIN_EXPIRES_DAYS, api_keys.MAX_EXPIRES_DAYS),
    default=None,
    help="The key stops working after this many days (default: never).",
)
@click.option(
    "--allow-ip",
    "allowed_ips",
    multiple=True,
    metavar="CIDR",
    help="Accept the key only from this address or network (e.g. 203.0.113.7 or "
    "10.0.0.0/8); repeat for several. Default: any address.",
)
def create(
    username: str,
    scope: str,
    name: str | None,
    expires_days: int | None,
    allowed_ips: tuple[str, ...],
) -> None:
    """Create a key for USERNAME and print it once (only its hash is kept)."""
    try:
        with database().writing() as session:
            owner = users.require(session=session, username=username)
            row, key = api_keys.create(
                session=session,
                owner=owner,
                scope=scope,
                name=name,
                expires_days=expires_days,
                allowed_ips=allowed_ips or None,
                actor=actor(),
            )
    except (ApiKeyError, UserError) as error:
        raise click.ClickException(str(error)) from None
    expiry = f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else "never expires"
    where = f", only from {row.allowed_ips.replace(',', ', ')}" if row.allowed_ips else ""
    click.echo(f"API key {row.prefix} for {owner.username} ({scope}, {expiry}{where}).")
    click.echo("Shown once, store it now:")
    click.echo(key)


@apikey.command("revoke")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke the key whose prefix is PREFIX (e.g. bd_3f9a1c2b); it stops working at once."""
    try:
        with database().writing() as session:
            api_keys.revoke(session=session, prefix=prefix, actor=actor(), actor_role=Role.ADMIN)
    except ApiKeyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked {prefix.strip()}")


def stamp(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@apikey.command("list")
@click.option("--user", "username", default=None, help="Only this user's keys.")
def list_keys(username: str | None) -> None:
    """List keys: prefix, owner, scope, state, expiry, last use and the addresses each is
    held to (never the keys)."""
    try:
        with database().reading() as session:
            owner_id = users.require(session=session, username=username).id if username else None
            rows = api_keys.listed(session=session, user_id=owner_id)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{'prefix':<12} {'owner':<20} {'scope':<6} {'state':<8} "
        f"{'expires (UTC)':<17} {'last used (UTC)':<17} name"
    )
    for key, owner in rows:
        where = f" (only from {key.allowed_ips.replace(',', ', ')})" if key.allowed_ips else ""
        click.echo(
            f"{key.prefix:<12} {owner:<20} {key.scope:<6} {api_keys.state(key):<8} "
            f"{stamp(key.expires_at):<17} {stamp(key.last_used_at):<17} {key.name}{where}"
        )
