"""`botdesk init` and `botdesk db upgrade`: create or migrate the database, keys, first admin."""

import os

import click

from botdesk.app import twofactor
from botdesk.app.passwords import generate_password, hash_password
from botdesk.cli.common import actor, database, quiet_logging, settings
from botdesk.db import audit, risk_limits, users
from botdesk.db.migrate import upgrade
from botdesk.db.models import Role
from botdesk.db.seed import seed_demo
from botdesk.keys import ensure_keys


def _prepare_var() -> None:
    var = settings().VAR_DIR
    var.mkdir(parents=True, exist_ok=True)
    os.chmod(var, 0o700)


def migrate() -> None:
    try:
        upgrade(settings().DATABASE_URL)
    except Exception as error:
        raise click.ClickException(
            f"could not migrate {settings().DATABASE_URL}: {type(error).__name__}: {error}"
        ) from None


@click.command()
@click.option("--no-demo", is_flag=True, help="Do not seed the demo bots.")
def init(no_demo: bool) -> None:
    """Create or migrate the database, generate keys, create the first admin, seed demo bots.

    Safe to run again: it only does what is missing. The first admin's password and TOTP
    enrolment URI (with a QR code) are printed once, when the admin is created.
    """
    quiet_logging()
    _prepare_var()
    ensure_keys(settings())
    migrate()
    db = database()
    password = None
    with db.writing() as session:
        if users.count(session=session) == 0:
            password = generate_password()
            admin = users.create(
                session=session,
                username="admin",
                password_hash=hash_password(password),
                role=Role.ADMIN,
            )
            # Pending until the first sign-in proves it with a code (then backup codes).
            totp_secret = twofactor.new_secret()
            twofactor.store_secret(admin, totp_secret, settings())
            audit.record(
                session=session,
                actor=actor(),
                action="user.create",
                target="user:admin",
                details={"role": "admin", "first_admin": True},
            )
            admin_id = admin.id
        seeded = [] if no_demo else seed_demo(session=session)
        limits = risk_limits.seed_defaults(session=session) if seeded else []
    click.echo(f"database ready: {settings().DATABASE_URL}")
    if seeded:
        click.echo(f"demo bots seeded: {', '.join(seeded)}")
    if limits:
        click.echo(f"default risk limits seeded: {', '.join(limits)}")
    if password:
        click.echo("")
        click.echo("first admin created (shown once, store it now):")
        click.echo("  username: admin")
        click.echo(f"  password: {password}")
        click.echo(f"  user id:  {admin_id}")
        uri = twofactor.provisioning_uri(totp_secret, "admin")
        click.echo("")
        click.echo("two-factor: scan this with an authenticator app (or enter the URI by hand);")
        click.echo("the first sign-in asks for a code from it, then shows 10 backup codes:")
        click.echo(f"  {uri}")
        click.echo(twofactor.qr_terminal(uri))
    click.echo(f"desk: http://{settings().HOST}:{settings().PORT}")


@click.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to this version's schema (Alembic upgrade to head)."""
    quiet_logging()
    _prepare_var()
    migrate()
    click.echo(f"database at head: {settings().DATABASE_URL}")
