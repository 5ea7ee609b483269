"""`botdesk db`: database maintenance (upgrade, backup, restore)."""

import click

from botdesk.cli.backup import db_backup, db_restore
from botdesk.cli.setup import db_upgrade


@click.group()
def db() -> None:
    """Database maintenance."""


db.add_command(db_upgrade)
db.add_command(db_backup)
db.add_command(db_restore)
