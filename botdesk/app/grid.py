"""One reusable server-side table: dash-ag-grid's infinite row model over a desk table.

The browser asks for a block of rows (`getRowsRequest`: startRow, endRow, sortModel,
filterModel); the server answers that block only (`getRowsResponse`), so no history is
ever sent whole. The row count is given only once the last block is reached (a short
block), so no request counts a million rows. Cells are formatted on the server: money
with its places and thousands separators, times in UTC. Each grid has an Export CSV
button whose link carries the grid's current filter and sort (`/export/<table>.csv`), and
refreshes itself only when its table changed (a cheap aggregate marker, polled).

Usage, at a page module's top level (grids are found by name when the browser asks):

    FILLS = DeskGrid("fills", "fill", [GridColumn("filled_at", "Time", "time"), ...])
    ... FILLS.layout(scope={"bot_id": 3}) in the page's layout ...
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlmodel import col, select

from botdesk.app import tables
from botdesk.app.context import desk_db
from botdesk.app.roles import AccessRefused, guarded_callback, require_role
from botdesk.db.models import Bot, Role

GRID, EXPORT, NOTE, SCOPE, MARKER, TICK, REFRESHED = (
    "desk-grid",
    "desk-grid-export",
    "desk-grid-note",
    "desk-grid-scope",
    "desk-grid-marker",
    "desk-grid-tick",
    "desk-grid-refreshed",
)
MAX_BLOCK = 500
NUMERIC = ("int", "number", "money")
DERIVED = ("derived", "derived_text")
# Every time header names its clock (issue 14 item 21): the market's (a candle's open, a
# fill; on the replay feed the replayed time) or the desk's own, when a row was recorded.
MARKET_CLOCK = "market time, UTC"
RECORDED_CLOCK = "recorded, UTC"
CHOICE_MIN_WIDTH = 120  # px: a side or status column's filter box holds "filled"


@dataclass(frozen=True)
class GridColumn:
    """A column as the grid shows it. kind: text, choice, int, number, money, time, bot,
    candle (a candle's open time stored as milliseconds since the epoch, shown in UTC),
    derived and derived_text (worked out from other rows by the grid's `derive`: neither
    sorted nor filtered, not in the table's export)."""

    field: str
    header: str
    kind: str = "text"
    places: int = 2
    unit: str = ""
    width: int | None = None
    signed: bool = False  # colour negative red and positive green (P&L)

    def cell(self, raw: Any, bot_names: dict[int, str]) -> Any:
        if self.kind in DERIVED:
            return ""
        if raw is None:
            return ""
        if self.kind == "bot":
            return bot_names.get(raw, f"#{raw}")
        if self.kind == "candle":
            raw = datetime.fromtimestamp(raw / 1000, UTC)
        if isinstance(raw, Decimal):
            return f"{raw:,.{self.places}f}"
        if isinstance(raw, datetime):
            return raw.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(raw, float):
            return f"{raw:,.{self.places}f}"
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        return raw

    def definition(self, sortable: bool) -> dict:
        header = f"{self.header} ({self.unit})" if self.unit else self.header
        spec = {"field": self.field, "headerName": header, "sortable": sortable}
        if self.width:
            spec["width"] = self.width
        else:
            spec["flex"] = 1
        if self.kind == "derived":
            spec.update(sortable=False, filter=False, type="rightAligned", cellClass="num")
        elif self.kind == "derived_text":
            spec.update(sortable=False, filter=False, tooltipField=self.field, minWidth=140)
        elif self.kind in NUMERIC:
            spec.update(filter="agNumberColumnFilter", type="rightAligned", cellClass="num")
        elif self.kind in ("time", "candle"):
            spec.update(
                filter="agDateColumnFilter",
                filterParams={
                    "filterOptions": ["inRange", "equals", "greaterThan", "lessThan"],
                    "inRangeInclusive": True,
                    "maxNumConditions": 1,
                    # a text box read as 2026-11-21: the browser's picker shows mm/dd/yyyy
                    "browserDatePicker": False,
                },
            )
        elif self.kind == "choice":
            # wide enough that the filter box under the header holds a word
            spec.update(
                filter="agTextColumnFilter",
                filterParams={"filterOptions": ["equals", "notEqual"], "maxNumConditions": 1},
                minWidth=CHOICE_MIN_WIDTH,
            )
            if self.width:
                spec["width"] = max(self.width, CHOICE_MIN_WIDTH)
        else:  # text and bot (a bot is filtered by its name): a part of it, any case
            spec.update(
                filter="agTextColumnFilter",
                filterParams={
                    "filterOptions": ["contains", "equals", "startsWith"],
                    "defaultOption": "contains",
                },
                tooltipField=self.field,  # long reasons in full on hover
                minWidth=140,
            )
        if self.field == "side":
            spec["cellClassRules"] = {
                "text-success": "params.value == 'buy'",
                "text-danger": "params.value == 'sell'",
            }
        if self.signed:
            spec["cellClassRules"] = {
                "text-danger": "params.value && params.value.startsWith('-')",
                "text-success": "params.value && /[1-9]/.test(params.value) "
                "&& !params.value.startsWith('-')",
            }
        return spec


class DeskGrid:
    """A named grid over one table; names are unique across the desk."""

    registry: dict[str, "DeskGrid"] = {}

    def __init__(
        self,
        name: str,
        table: str,
        columns: list[GridColumn],
        *,
        empty: str = "Nothing yet.",
        block: int = 100,
        height: int = 420,
        refresh_ms: int = 3000,
        derive: Callable[[Any, list, list[dict]], None] | None = None,
    ):
        if name in DeskGrid.registry:
            raise ValueError(f"a grid named {name!r} exists already")
        self.name, self.spec, self.columns = name, tables.spec_of(table), columns
        self.empty, self.block, self.height, self.refresh_ms = empty, block, height, refresh_ms
        # derive(session, rows, shown): fill the derived cells of the shown block
        self.derive = derive
        unknown = [
            c.field for c in columns if c.kind not in DERIVED and c.field not in self.spec.columns()
        ]
        if unknown:
            raise ValueError(f"{table} has no columns {unknown}")
        DeskGrid.registry[name] = self

    def _id(self, kind: str) -> dict:
        return {"type": kind, "name": self.name}

    def scoped(self, filter_model: dict | None, scope: dict | None) -> dict:
        """The browser's filters with the page's fixed ones (e.g. this bot) on top."""
        if filter_model and not isinstance(filter_model, dict):
            raise tables.BadFilter("the filter must be an object of column filters")
        merged = dict(filter_model or {})
        for field, value in (scope or {}).items():
            kind = "number" if isinstance(value, (int, float)) else "text"
            merged[field] = {"filterType": kind, "type": "equals", "filter": value}
        return merged

    def export_href(self, filter_model: dict | None = None, sort_model=None) -> str:
        parameters = {}
        if filter_model:
            parameters["filter"] = json.dumps(filter_model, separators=(",", ":"))
        if sort_model:
            parameters["sort"] = json.dumps(sort_model, separators=(",", ":"))
        path = f"/export/{self.spec.name}.csv"
        return f"{path}?{urlencode(parameters)}" if parameters else path

    def marker(self, scope: dict | None) -> list:
        with desk_db().reading() as session:
            rows = [
                session.exec(query).one()
                for query in tables.marker_queries(self.spec, self.scoped(None, scope))
            ]
        return [str(value) if value is not None else None for row in rows for value in row]

    def rows(
        self, *, start: int, end: int, filter_model=None, sort_model=None, scope=None
    ) -> list[dict]:
        """The block [start, end) as display rows; BadFilter for a bad filter or sort."""
        size = max(0, min(end - start, MAX_BLOCK))
        statement = tables.query(self.spec, self.scoped(filter_model, scope), sort_model)
        with desk_db().reading() as session:
            found = list(session.exec(statement.offset(max(start, 0)).limit(size)).scalars())
            bot_ids = {row.bot_id for row in found if getattr(row, "bot_id", None) is not None}
            names = (
                dict(session.exec(select(Bot.id, Bot.name).where(col(Bot.id).in_(bot_ids))).all())
                if bot_ids and any(c.kind == "bot" for c in self.columns)
                else {}
            )
            shown = [
                {"id": row.id}
                | {c.field: c.cell(getattr(row, c.field, None), names) for c in self.columns}
                for row in found
            ]
            if self.derive and found:
                self.derive(session, found, shown)
        return shown

    def layout(self, scope: dict | None = None, title: str | None = None) -> html.Div:
        sortable = self.spec.sortable | {"id"}
        toolbar = html.Div(
            [
                html.H2(title, className="h6 mb-0 me-3") if title else None,
                html.Span(id=self._id(NOTE), className="small text-secondary me-auto"),
                dbc.Button(
                    "Export CSV",
                    id=self._id(EXPORT),
                    href=self.export_href(self.scoped(None, scope)),
                    external_link=True,
                    size="sm",
                    color="light",
                    outline=True,
                ),
            ],
            className="d-flex align-items-center mb-2",
        )
        grid = dag.AgGrid(
            id=self._id(GRID),
            rowModelType="infinite",
            columnDefs=[c.definition(c.field in sortable) for c in self.columns],
            defaultColDef={
                "resizable": True,
                "floatingFilter": True,
                "suppressHeaderMenuButton": True,
                "filterParams": {"debounceMs": 400, "buttons": ["reset"]},
            },
            getRowId="params.data.id",
            dashGridOptions={
                "cacheBlockSize": self.block,
                "maxBlocksInCache": 20,
                "rowBuffer": 10,
                "infiniteInitialRowCount": 1,
                "suppressCellFocus": True,
                "tooltipShowDelay": 300,
            },
            style={"height": f"{self.height}px"},
        )
        return html.Div(
            [
                toolbar,
                grid,
                dcc.Store(id=self._id(SCOPE), data=scope or {}),
                dcc.Store(id=self._id(MARKER), data=self.marker(scope)),
                dcc.Store(id=self._id(REFRESHED)),
                dcc.Interval(id=self._id(TICK), interval=self.refresh_ms),
            ],
            className="desk-grid mb-3",
            **{"data-ag-theme-mode": "dark"},
        )


def _grid_of_call() -> DeskGrid:
    outputs = ctx.outputs_list
    first = outputs[0] if isinstance(outputs, list) else outputs
    name = (first.get("id") or {}).get("name")
    grid = DeskGrid.registry.get(name) if isinstance(name, str) else None
    if grid is None:
        raise PreventUpdate
    try:
        require_role(grid.spec.role, f"grid {grid.name}")
    except AccessRefused:
        raise PreventUpdate from None
    return grid


def _block(request: dict) -> tuple[int, int]:
    try:
        start, end = int(request.get("startRow", 0)), int(request.get("endRow", 0))
    except (TypeError, ValueError):
        raise tables.BadFilter("startRow and endRow are row numbers") from None
    if start < 0 or end < start:
        raise tables.BadFilter("the rows asked for are not a range")
    return start, end


@guarded_callback(
    Output({"type": GRID, "name": MATCH}, "getRowsResponse"),
    Output({"type": EXPORT, "name": MATCH}, "href"),
    Output({"type": NOTE, "name": MATCH}, "children"),
    Input({"type": GRID, "name": MATCH}, "getRowsRequest"),
    State({"type": SCOPE, "name": MATCH}, "data"),
    role=Role.VIEWER,
)
def serve_rows(request, scope):
    grid = _grid_of_call()
    if not isinstance(request, dict):
        raise PreventUpdate
    filter_model, sort_model = request.get("filterModel"), request.get("sortModel")
    try:
        start, end = _block(request)
        found = grid.rows(
            start=start, end=end, filter_model=filter_model, sort_model=sort_model, scope=scope
        )
    except tables.BadFilter as error:
        note = html.Span(str(error), className="text-danger")
        return {"rowData": [], "rowCount": 0}, no_update, note
    response: dict = {"rowData": found}
    short = len(found) < end - start
    if short:
        response["rowCount"] = start + len(found)
    if start > 0:
        return response, no_update, no_update
    href = grid.export_href(grid.scoped(filter_model, scope), sort_model)
    if not found:
        note = grid.empty if not filter_model else "No rows match these filters."
    elif short:
        note = f"{len(found):,} rows"
    else:
        note = f"newest {len(found):,} loaded; scroll for more"
    return response, href, note


@guarded_callback(
    Output({"type": MARKER, "name": MATCH}, "data"),
    Input({"type": TICK, "name": MATCH}, "n_intervals"),
    State({"type": SCOPE, "name": MATCH}, "data"),
    State({"type": MARKER, "name": MATCH}, "data"),
    role=Role.VIEWER,
)
def watch_table(_ticks, scope, marker):
    """A few aggregates of the grid's rows; the grid reloads only when they change."""
    grid = _grid_of_call()
    try:
        current = grid.marker(scope)
    except tables.BadFilter:
        raise PreventUpdate from None
    return no_update if current == marker else current


# In the browser: reload the grid's loaded blocks when its marker changed.
clientside_callback(
    """
    function (marker, id) {
        if (marker && window.dash_ag_grid) {
            window.dash_ag_grid.getApiAsync(id).then(api => api.refreshInfiniteCache());
        }
        return window.dash_clientside.no_update;
    }
    """,
    Output({"type": REFRESHED, "name": MATCH}, "data"),
    Input({"type": MARKER, "name": MATCH}, "data"),
    State({"type": GRID, "name": MATCH}, "id"),
    prevent_initial_call=True,
)
