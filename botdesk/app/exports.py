"""CSV downloads of the desk's tables: `/export/<table>.csv`, exactly the filtered rows.

The filters are the grid's own, in the URL: `?filter=<ag-grid filter model as JSON>` and
`?sort=<sort model as JSON>` (the audit log takes its page's filters: actor, action,
outcome, from, to; the log lines theirs: process, level, bot, text). Columns are the
table's, as the grid shows them: a bot's name beside its id, a candle's time as a UTC
time. Rows are streamed in batches, never held whole: PostgreSQL formats and streams them
with COPY, SQLite writes each row's line with one printf (`csv_stream`).
Money is exact (8 decimals), times are ISO 8601 UTC.
Every export is written to the audit log; a table above the user's role is refused.
"""

import itertools
import logging
from collections.abc import Iterator

from flask import Blueprint, Response, request
from flask_login import current_user
from sqlalchemy.exc import DataError

from botdesk.app import acting, csv_stream, tables, trade_exports
from botdesk.app.context import desk_db
from botdesk.app.roles import refuse
from botdesk.db import audit, log_entries
from botdesk.db.types import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("exports", __name__)
GRID_PARAMETERS = {"filter", "sort"}
AUDIT_PARAMETERS = {"actor", "action", "outcome", "from", "to"}
LOG_PARAMETERS = {"process", "level", "bot", "text"}
# Tables exported with their page's own filters (newest first), not the grid's.
PAGE_FILTERS = {
    "audit_log": (AUDIT_PARAMETERS, audit.AuditFilter),
    "log_entry": (LOG_PARAMETERS, log_entries.LogFilter),
}


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def file_name(table: str) -> str:
    """e.g. fill-2026-11-21T1612Z.csv (UTC)."""
    return f"{table}-{utcnow():%Y-%m-%dT%H%MZ}.csv"


def _unknown_parameters(allowed: set[str]) -> str | None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        return f"unknown parameter {unknown[0]!r}; this export takes {', '.join(sorted(allowed))}"
    repeated = [name for name in request.args if len(request.args.getlist(name)) > 1]
    return f"give the parameter {repeated[0]!r} once" if repeated else None


@blueprint.get("/export/<name>.csv")
def export(name: str):
    if name in trade_exports.EXPORTS:
        return _trade_export(name)
    try:
        spec = tables.spec_of(name)
    except LookupError as error:
        return _plain(404, str(error))
    if not current_user.allows(spec.role):
        refuse(f"export {name}", spec.role, target=f"export {name}")
        return _plain(403, f"exporting {name} needs the {spec.role.value} role")
    page_filters = PAGE_FILTERS.get(name)
    problem = _unknown_parameters(page_filters[0] if page_filters else GRID_PARAMETERS)
    if problem:
        return _plain(400, problem)
    try:
        if page_filters:  # the page's own filters, newest first as the page lists them
            chosen = page_filters[1].from_query(request.args)
            newest_first = [{"colId": "id", "sort": "desc"}]
            statement = chosen.apply(tables.plain_query(spec, sort_model=newest_first))
            described = {"filter": chosen.query_string()}
        else:
            filter_model = tables.parse_json(request.args.get("filter"), "filter")
            sort_model = tables.parse_json(request.args.get("sort"), "sort")
            statement = tables.plain_query(spec, filter_model, sort_model)
            described = {"filter": filter_model, "sort": sort_model}
    except (tables.BadFilter, audit.BadFilter, log_entries.BadFilter) as error:
        return _plain(400, f"bad filter: {error}")
    db = desk_db()
    with db.writing() as session:
        acting.record(session, "export.csv", target=name, details=described)

    def lines() -> Iterator[bytes]:
        with db.reading() as session:
            yield from csv_stream.lines(
                session.connection(), csv_stream.shown_columns(spec.columns()), statement
            )

    # The query runs and its first batch is read before the status line is sent: what the
    # database refuses answers 400 here instead of a 200 whose body stops mid-file.
    chunks = lines()
    try:
        started = list(itertools.islice(chunks, 2))  # the header line and the first rows
    except (DataError, OverflowError) as error:
        chunks.close()
        log.warning("export %s refused by the database: %s", name, error)
        return _plain(400, "bad filter: a value is out of the range its column holds")
    filename = file_name(name)
    return Response(
        itertools.chain(started, chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _trade_export(name: str) -> Response:
    """Trades and their performance: derived from the fills, with the Trades page's filters
    (everyone may see them)."""
    problem = _unknown_parameters(trade_exports.PARAMETERS)
    if problem:
        return _plain(400, problem)
    try:
        chosen = trade_exports.chosen_from(request.args)
    except trade_exports.BadTradeFilter as error:
        return _plain(400, f"bad filter: {error}")
    db = desk_db()
    with db.writing() as session:
        described = {"filter": trade_exports.query_string(chosen)}
        acting.record(session, "export.csv", target=name, details=described)
    return Response(
        (text.encode() for text in trade_exports.lines(db, name, chosen)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{file_name(name)}"'},
    )
