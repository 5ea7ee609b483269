"""CSV downloads of the desk's tables: `/export/<table>.csv`, exactly the filtered rows.

The filters are the grid's own, in the URL: `?filter=<ag-grid filter model as JSON>` and
`?sort=<sort model as JSON>` (the audit log takes its page's filters: actor, action,
outcome, from, to). Rows are streamed from the database in batches (a server-side cursor
on PostgreSQL), never held whole. Money is exact (8 decimals), times are ISO 8601 UTC.
Every export is written to the audit log; a table above the user's role is refused.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC

from flask import Blueprint, Response, request
from flask_login import current_user
from sqlalchemy import Boolean, Float, Integer

from botdesk.app import acting, tables
from botdesk.app.api.rows import FORMULA_START, Resource, safe_csv_text
from botdesk.app.context import desk_db
from botdesk.app.roles import refuse
from botdesk.db import audit
from botdesk.db.types import MONEY_PLACES, Money, UTCDateTime, utcnow

blueprint = Blueprint("exports", __name__)
BATCH = 2000
GRID_PARAMETERS = {"filter", "sort"}
AUDIT_PARAMETERS = {"actor", "action", "outcome", "from", "to"}


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def file_name(table: str) -> str:
    """e.g. fill-2026-11-21T1612Z.csv (UTC)."""
    return f"{table}-{utcnow():%Y-%m-%dT%H%MZ}.csv"


def csv_lines(resource: Resource, rows: Iterable) -> Iterator[str]:
    """The header, then the rows, a batch of lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in resource.columns])
    for count, row in enumerate(rows, start=1):
        writer.writerow(resource.csv_cells(row))
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def money_units_text(units: int | None) -> str | None:
    """Exact text of money stored as integer units of 1e-8: 123456789 -> 1.23456789."""
    if units is None:
        return None
    whole, fraction = divmod(abs(units), 10**MONEY_PLACES)
    return f"{'-' if units < 0 else ''}{whole}.{fraction:0{MONEY_PLACES}d}"


def _utc_text(moment) -> str | None:
    """ISO 8601 UTC of a time as the database gives it: SQLite's 'YYYY-MM-DD HH:MM:SS[.f]'
    text (stored in UTC) or PostgreSQL's aware datetime."""
    if moment is None:
        return None
    if not isinstance(moment, str):
        return moment.astimezone(UTC).isoformat()
    fraction = moment[20:26].ljust(6, "0") if len(moment) > 19 else ""
    fraction = f".{fraction}" if fraction.strip("0") else ""
    return f"{moment[:10]}T{moment[11:19]}{fraction}+00:00"


def _safe_text(text) -> str | None:
    if text is None or not isinstance(text, str) or text[:1] not in FORMULA_START:
        return text
    return safe_csv_text(text)


def plain_lines(spec: tables.TableSpec, rows: Iterable[tuple]) -> Iterator[str]:
    """The CSV of plain rows from `tables.plain_query`, a batch of lines at a time. Only
    money, times and text are converted (the csv module writes numbers, and None as "")."""
    columns = spec.columns()
    converters = []
    for index, column in enumerate(columns.values()):
        if isinstance(column.type, Money):
            converters.append((index, money_units_text))
        elif isinstance(column.type, UTCDateTime):
            converters.append((index, _utc_text))
        elif not isinstance(column.type, (Integer, Float, Boolean)):
            converters.append((index, _safe_text))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    batch = []
    for row in rows:
        cells = list(row)
        for index, convert in converters:
            cells[index] = convert(cells[index])
        batch.append(cells)
        if len(batch) == BATCH:
            writer.writerows(batch)
            batch.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    writer.writerows(batch)
    yield buffer.getvalue()


def _unknown_parameters(allowed: set[str]) -> str | None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        return f"unknown parameter {unknown[0]!r}; this export takes {', '.join(sorted(allowed))}"
    repeated = [name for name in request.args if len(request.args.getlist(name)) > 1]
    return f"give the parameter {repeated[0]!r} once" if repeated else None


@blueprint.get("/export/<name>.csv")
def export(name: str):
    try:
        spec = tables.spec_of(name)
    except LookupError as error:
        return _plain(404, str(error))
    if not current_user.allows(spec.role):
        refuse(f"export {name}", spec.role, target=f"export {name}")
        return _plain(403, f"exporting {name} needs the {spec.role.value} role")
    is_audit = name == "audit_log"
    problem = _unknown_parameters(AUDIT_PARAMETERS if is_audit else GRID_PARAMETERS)
    if problem:
        return _plain(400, problem)
    try:
        if is_audit:
            chosen = audit.AuditFilter.from_query(request.args)
            described = {"filter": chosen.query_string()}
        else:
            filter_model = tables.parse_json(request.args.get("filter"), "filter")
            sort_model = tables.parse_json(request.args.get("sort"), "sort")
            statement = tables.plain_query(spec, filter_model, sort_model)
            described = {"filter": filter_model, "sort": sort_model}
    except (tables.BadFilter, audit.BadFilter) as error:
        return _plain(400, f"bad filter: {error}")
    db = desk_db()
    with db.writing() as session:
        acting.record(session, "export.csv", target=name, details=described)

    def audit_rows() -> Iterator:
        with db.reading() as session:  # the audit page's own filters and query
            yield from audit.search(session=session, filters=chosen, limit=None)

    def plain_rows() -> Iterator[tuple]:
        with db.reading() as session:
            yield from session.execute(statement.execution_options(yield_per=BATCH))

    if is_audit:
        lines = csv_lines(Resource(name, spec.table, hidden=spec.hidden), audit_rows())
    else:
        lines = plain_lines(spec, plain_rows())
    filename = file_name(name)
    return Response(
        lines,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
