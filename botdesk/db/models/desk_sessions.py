"""Desk sessions, recorded on the server: the browser's cookie holds a random token whose
hash names one row here, and a session is valid only while its row is open. Signing out,
"sign out everywhere", a password or role change end rows; a copied cookie then opens
nothing (ASVS 3.3.1)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import time_column


class DeskSession(SQLModel, table=True):
    __tablename__ = "desk_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)  # SHA-256 of the cookie's
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = time_column(nullable=False)
    last_seen_at: datetime = time_column(nullable=False)  # the last click or page, per minute
    ended_at: datetime | None = time_column()
    end_reason: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=45)
    user_agent: str | None = Field(default=None, max_length=255)
