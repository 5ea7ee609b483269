"""One page of a table, newest first, with keyset pagination on the id.

A page is asked for with the id it starts below (the cursor) and gives back the id to ask
with next, so rows added meanwhile never shift a page the way OFFSET does.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from botdesk.db.types import MAX_ID


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_before_id: int | None  # None: this was the last page


def page(
    *,
    session: Session,
    table: type[SQLModel],
    conditions: list[ColumnElement[bool]],
    limit: int,
    before_id: int | None = None,
) -> Page:
    id_column = col(table.id)
    query = select(table).where(*conditions)
    # Every id is at most MAX_ID: a cursor above it bounds nothing (and bound as the
    # column's 32-bit integer, PostgreSQL would refuse it as out of range).
    if before_id is not None and before_id <= MAX_ID:
        query = query.where(id_column < before_id)
    rows = list(session.exec(query.order_by(id_column.desc()).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows=rows, next_before_id=rows[-1].id)
    return Page(rows=rows, next_before_id=None)
