"""Desk sessions recorded on the server (desk_session), so that signing out ends a session

Revision ID: sessions_1
Revises: desk_1

A desk session was only a signed cookie: a copy taken before sign-out still opened the
desk. Each session is now a row, found by the SHA-256 of the token in the cookie, and
valid only while the row is open. Cookies issued before this migration name no row: their
users sign in again once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import botdesk.db.types

revision: str = "sessions_1"
down_revision: str | None = "desk_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", botdesk.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_session_token_hash"), ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_desk_session_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("desk_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_desk_session_token_hash"))
    op.drop_table("desk_session")
