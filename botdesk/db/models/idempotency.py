"""Idempotency keys of the REST API: a state-changing request's answer, kept per API key.

A client that lost the answer to a committed request sends it again with the same
`Idempotency-Key` header and gets the stored answer instead of a second order or command.
The row is written in the transaction of the request's own effect, so one exists exactly
when the other does.
"""

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import time_column


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_idempotency_key_holder"),)

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int = Field(foreign_key="api_key.id", ondelete="CASCADE")
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)  # SHA-256 of the method, path and body
    method: str = Field(max_length=8)
    path: str = Field(max_length=255)
    status: int  # the answer's HTTP status
    answer: str = Field(sa_type=Text)  # the answer's body, Fernet-encrypted with the data key
    location: str | None = Field(default=None, max_length=255)  # its Location header
    created_at: datetime = time_column(nullable=False)
