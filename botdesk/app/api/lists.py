"""A list endpoint from a declaration: its table, its filters, its time column.

Each filter that names a column is an equality; `since` and `until` bound the time column
(since inclusive, until exclusive); anything else is turned into conditions by `custom`.
Every list pages newest first with a cursor and can answer as CSV.
"""

from collections.abc import Callable

from flask import Response, jsonify
from sqlalchemy import ColumnElement, false, select
from sqlmodel import Session, col

from botdesk.app import csv_stream, tables
from botdesk.app.api.inputs import ListQuery
from botdesk.app.api.routing import operation
from botdesk.app.api.rows import Resource, page_schema
from botdesk.app.context import desk_db
from botdesk.app.exports import file_name
from botdesk.db import listing
from botdesk.db.models import Scope

TIME_FILTERS = ("since", "until")


def list_endpoint(
    *,
    resource: Resource,
    rule: str,
    tag: str,
    summary: str,
    filters: type[ListQuery],
    time_column: str | None = None,
    custom: Callable[[ListQuery], list[ColumnElement[bool]]] | None = None,
    custom_fields: tuple[str, ...] = (),
    answer: Callable[[ListQuery], Response | None] | None = None,
    response: dict | None = None,
    description: str = "",
) -> None:
    """`answer`, when given, may answer a query itself (anything but None) before the
    list does; `response` then describes both answers."""
    table = resource.table
    columns = set(table.__table__.columns.keys())
    equalities = [
        name
        for name in filters.model_fields
        if name not in ListQuery.model_fields and name not in (*TIME_FILTERS, *custom_fields)
    ]
    unknown = [name for name in equalities if name not in columns]
    if unknown or (time_column is None and set(TIME_FILTERS) & set(filters.model_fields)):
        raise ValueError(f"{rule}: filters {unknown} name no column of {table.__tablename__}")

    def conditions_of(query: ListQuery) -> list[ColumnElement[bool]]:
        conditions = [
            col(getattr(table, name)) == getattr(query, name)
            for name in equalities
            if getattr(query, name) is not None
        ]
        if time_column is not None:
            moment = col(getattr(table, time_column))
            if getattr(query, "since", None) is not None:
                conditions.append(moment >= query.since)
            if getattr(query, "until", None) is not None:
                conditions.append(moment < query.until)
        if custom is not None:
            conditions.extend(custom(query))
        return conditions

    def list_rows(holder, query: ListQuery):
        if answer is not None and (own := answer(query)) is not None:
            return own
        with desk_db().reading() as session:
            found = listing.page(
                session=session,
                table=table,
                conditions=conditions_of(query),
                limit=query.limit,
                before_id=query.cursor,
            )
            if query.format == "csv":
                return csv_page(session, resource, conditions_of(query), found)
        items = [resource.to_json(row) for row in found.rows]
        return jsonify(items=items, next_cursor=found.next_before_id)

    list_rows.__name__ = f"list_{table.__tablename__}"
    operation(
        "GET",
        rule,
        summary=summary,
        tag=tag,
        scope=Scope.READ,
        response=response or page_schema(resource),
        query=filters,
        csv=True,
        description="Newest first. Pass `next_cursor` back as `cursor` for the next page, "
        "with the same filters. `format=csv` answers the same page as CSV (the next cursor "
        "is then in the `X-Next-Cursor` header)." + (f" {description}" if description else ""),
        errors=(400,),
    )(list_rows)


def csv_page(
    session: Session, resource: Resource, conditions: list, found: listing.Page
) -> Response:
    """The page's rows in the format of `/export/<table>.csv` (`csv_stream`), newest first;
    the next cursor in the X-Next-Cursor header. The page is the newest matching rows below
    the cursor, so its rows are the matching rows between its lowest and highest id."""
    table = resource.table
    columns = {column.name: column for column in resource.columns}
    id_column = table.__table__.c.id
    ids = [row.id for row in found.rows]
    within = id_column.between(min(ids), max(ids)) if ids else false()
    statement = select(*tables.plain_columns(columns)).where(*conditions, within)
    text = b"".join(
        csv_stream.lines(
            session.connection(),
            csv_stream.shown_columns(columns),
            statement.order_by(id_column.desc()),
        )
    )
    headers = {"Content-Disposition": f'attachment; filename="{file_name(table.__tablename__)}"'}
    if found.next_before_id is not None:
        headers["X-Next-Cursor"] = str(found.next_before_id)
    return Response(text, mimetype="text/csv", headers=headers)
