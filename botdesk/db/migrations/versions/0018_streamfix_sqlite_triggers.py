"""The stream's triggers put back on SQLite after the tables were rebuilt

Revision ID: streamfix_1
Revises: tradesfast_1

On SQLite, `batch_alter_table` rebuilds a table (a copy under a new name, then renamed)
when it adds a constraint or a foreign key, and a rebuilt table has lost its triggers:
limits_1 and protect_1 rebuilt `order`, so from then on its changes wrote no
`stream_event` and `/api/v1/stream` fell silent on the `orders` channel.
This drops and recreates every streamed table's triggers as stream_1 defines them
(idempotent). PostgreSQL alters tables in place and keeps its triggers: nothing to do.
A migration that rebuilds a streamed table must end the same way (a test checks that
every streamed table has its triggers at the head).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "streamfix_1"
down_revision: str | None = "tradesfast_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def stream_1():
    """The stream_1 migration, whose trigger definitions these are."""
    path = Path(__file__).with_name("0010_stream_event_log.py")
    spec = importlib.util.spec_from_file_location("botdesk_migration_stream_1", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    stream = stream_1()
    for table, (channel, watched) in stream.STREAMED.items():
        for verb in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS stream_{table}_{verb}")
        for statement in stream._sqlite_triggers(table, channel, watched):
            op.execute(statement)


def downgrade() -> None:
    return None  # the triggers belong to stream_1: they stay
