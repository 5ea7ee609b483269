"""CSV downloads of the desk's tables: `/export/<table>.csv`, exactly the filtered rows.

The filters are the grid's own, in the URL: `?filter=<ag-grid filter model as JSON>` and
`?sort=<sort model as JSON>` (the audit log takes its page's filters: actor, action,
outcome, from, to). Rows are streamed in batches, never held whole: PostgreSQL formats and
streams them itself with COPY, SQLite's are converted a column at a time (`csv_stream`).
Money is exact (8 decimals), times are ISO 8601 UTC.
Every export is written to the audit log; a table above the user's role is refused.
"""

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Blueprint, Response, request
from flask_login import current_user

from botdesk.app import acting, csv_stream, tables
from botdesk.app.api.rows import Resource
from botdesk.app.context import desk_db
from botdesk.app.roles import refuse
from botdesk.db import audit
from botdesk.db.types import utcnow

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

    def plain_lines() -> Iterator[str]:
        with db.reading() as session:
            yield from csv_stream.lines(session.connection(), spec.columns(), statement)

    if is_audit:
        lines = csv_lines(Resource(name, spec.table, hidden=spec.hidden), audit_rows())
    else:
        lines = plain_lines()
    filename = file_name(name)
    return Response(
        lines,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
