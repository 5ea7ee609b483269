"""`botdesk db backup` and `botdesk db restore`: a consistent copy of the database while
the engine writes, and putting one back (refused while an engine runs)."""

from pathlib import Path

import click

from botdesk.cli.common import database, settings


@click.command("backup")
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="The backup file (default: BOTDESK_BACKUP_DIR/botdesk-<UTC time>.db or .dump).",
)
def db_backup(target: str | None) -> None:
    """Take a consistent copy of the database, also while the engine writes (SQLite's
    online backup API; pg_dump on PostgreSQL)."""
    from botdesk.db import backup

    config = settings()
    path = Path(target) if target else backup.default_file(config.backup_dir, config.DATABASE_URL)
    try:
        written = backup.backup(config.DATABASE_URL, path)
    except (backup.BackupError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup written to {written}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_restore(file: str, yes: bool) -> None:
    """Replace the database with the backup FILE. Refused while an engine runs; stop the
    desk too. Run `botdesk db upgrade` after restoring an older backup."""
    from botdesk.db import backup
    from botdesk.engine.instance_lock import EngineAlreadyRunning, lock_for

    config = settings()
    running = backup.running_engines(database(), config.HEARTBEAT_STALE_SECONDS)
    if running:
        raise click.ClickException(
            f"an engine is running on this database: {', '.join(running)}; stop it first"
        )
    lock = lock_for(config.DATABASE_URL)
    try:
        if lock is not None:  # holds off an engine starting during the restore
            lock.acquire(config.DATABASE_URL)
    except EngineAlreadyRunning as error:
        raise click.ClickException(str(error)) from None
    try:
        if not yes:
            click.confirm(f"Replace everything in {config.DATABASE_URL} with {file}?", abort=True)
        database().dispose()
        backup.restore(config.DATABASE_URL, Path(file))
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    finally:
        if lock is not None:
            lock.release()
    click.echo(f"restored {file}; run `botdesk db upgrade` if it came from an older botdesk")
