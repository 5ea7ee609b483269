"""Alembic environment: batch mode on SQLite so ALTERs work, the models' metadata as target."""

from alembic import context
from sqlmodel import SQLModel

import botdesk.db.models  # noqa: F401  (registers every table on the metadata)
from botdesk.db.session import Database

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    database = Database(config.get_main_option("sqlalchemy.url"))
    try:
        with database.engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=database.is_sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        database.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
