"""P&L report: realized P&L (net of fees, from the fills) per UTC day, week or month, by bot
or by symbol, as a stacked bar chart and a table; Export CSV downloads what is shown."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from botdesk.app.components import PLOT_TEMPLATE, date_input, stat_card
from botdesk.app.context import desk_db
from botdesk.app.roles import guarded_callback
from botdesk.db import audit, pnl
from botdesk.db.models import Role
from botdesk.db.pnl import GroupBy, Period, PnlRow

dash.register_page(__name__, path="/pnl", name="P&L", title="P&L report · botdesk", order=60)

UNIT = "USDT"
# How far back the report reaches when no start day is given, per period.
DEFAULT_SPAN = {Period.DAY: 30, Period.WEEK: 12 * 7, Period.MONTH: 365}
PERIOD_WORDS = {Period.DAY: "daily", Period.WEEK: "weekly", Period.MONTH: "monthly"}


class BadRange(ValueError):
    """A date range the report cannot use; the message says why."""


def signed(amount: Decimal) -> str:
    return f"{amount:+,.2f} {UNIT}"


def plain(amount: Decimal) -> str:
    return f"{amount:,.2f} {UNIT}"


def _day(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRange(f"{label} {value!r} is not a date (YYYY-MM-DD, UTC)") from None


def chosen_range(period: Period, since: str | None, until: str | None, latest: date | None):
    """The days to report: as given, or the default span ending at the newest fill."""
    first, last = _day(since, "From"), _day(until, "To")
    if first and last and first > last:
        raise BadRange(f"From ({first}) is after To ({last})")
    if last is None:
        last = latest or date.today()
    if first is None:
        first = last - timedelta(days=DEFAULT_SPAN[period] - 1)
    return pnl.period_start(first, period), last


def build_report(period_value, by_value, since, until):
    """(rows, first day, last day) for the controls' values; BadRange for bad ones."""
    try:
        period, by = Period(period_value or Period.DAY), GroupBy(by_value or GroupBy.BOT)
    except ValueError:
        raise BadRange("choose a period (day, week, month) and a grouping (bot, symbol)") from None
    with desk_db().reading() as session:
        latest = pnl.latest_fill_day(session=session)
        first, last = chosen_range(period, since, until, latest)
        rows = pnl.report(session=session, period=period, by=by, since=first, until=last)
    return period, by, rows, first, last


BARS = 8  # bots or symbols drawn one by one; the rest are summed into one bar


def _bars(rows: list[PnlRow]) -> dict[str, list[PnlRow]]:
    """Rows per bar: the BARS groups that moved the most, then "others" summed."""
    weight: dict[str, Decimal] = {}
    for row in rows:
        weight[row.group] = weight.get(row.group, Decimal(0)) + abs(row.realized_pnl)
    ranked = sorted(weight, key=lambda group: (-weight[group], group))
    shown = set(ranked[:BARS]) if len(ranked) > BARS + 1 else set(ranked)
    bars: dict[str, list[PnlRow]] = {group: [] for group in sorted(shown)}
    others: dict[date, Decimal] = {}
    for row in rows:
        if row.group in shown:
            bars[row.group].append(row)
        else:
            others[row.period] = others.get(row.period, Decimal(0)) + row.realized_pnl
    if others:
        name = f"{len(ranked) - len(shown)} others"
        bars[name] = [
            PnlRow(period=day, group=name, fills=0, realized_pnl=value, fees=Decimal(0))
            for day, value in sorted(others.items())
        ]
    return bars


def chart(rows: list[PnlRow], period: Period) -> dict:
    """Stacked bars per bot or symbol and a mark at each period's total (a plain figure
    dict: plotly's validation of 50 traces costs more than the query)."""
    by_group = _bars(rows)
    money = "%{y:+,.2f} " + UNIT
    traces = [
        {
            "type": "bar",
            "name": group,
            "x": [pnl.period_label(row.period, period) for row in mine],
            "y": [float(row.realized_pnl) for row in mine],
            "customdata": [pnl.period_label(row.period, period) for row in mine],
            "hovertemplate": f"%{{customdata}}<br>{group}: {money}<extra></extra>",
        }
        for group, mine in by_group.items()
    ]
    totals = pnl.totals_by_period(rows)
    traces.append(
        {
            "type": "scatter",
            "name": "total",
            "x": [pnl.period_label(day, period) for day in totals],
            "y": [float(value) for value in totals.values()],
            "mode": "markers",
            "marker": {
                "symbol": "line-ew-open",
                "size": 18,
                "color": "#f8f9fa",
                "line": {"width": 3},
            },
            "hovertemplate": f"total: {money}<extra></extra>",
        }
    )
    week_note = " (weeks start on Monday)" if period == Period.WEEK else ""
    layout = {
        "template": PLOT_TEMPLATE,
        "barmode": "relative",
        "height": 360,
        "margin": {"l": 70, "r": 20, "t": 10, "b": 40},
        "yaxis": {"title": {"text": f"realized P&L ({UNIT})"}, "zerolinecolor": "#aaa"},
        # Periods as categories: one bar per period however few there are (a date axis
        # zooms one lone day down to fractions of a second).
        "xaxis": {
            "title": {"text": f"UTC {period.value}{week_note}"},
            "type": "category",
            "categoryorder": "category ascending",
        },
        "legend": {"title": {"text": "largest movers"}},
        "hovermode": "x unified",
    }
    return {"data": traces, "layout": layout}


MONEY_FORMAT = {"function": "d3.format('+,.2f')(params.value)"}


def table(rows: list[PnlRow], period: Period, by: GroupBy) -> html.Div:
    """Every row shown, newest first; sorting and filtering in the browser (the rows are
    already summed: at most periods x bots)."""
    right = {"cellClass": "text-end font-monospace", "type": "numericColumn"}
    columns = [
        {"field": "period", "headerName": f"{period.value.capitalize()} (UTC)", "sort": "desc"},
        {"field": "group", "headerName": by.value.capitalize(), "filter": True},
        {"field": "fills", "headerName": "Fills", **right},
        {
            "field": "realized_pnl",
            "headerName": f"Realized P&L, net ({UNIT})",
            "valueFormatter": MONEY_FORMAT,
            "cellClassRules": {
                "text-success": "params.value > 0",
                "text-danger": "params.value < 0",
            },
            **right,
        },
        {
            "field": "fees",
            "headerName": f"Fees ({UNIT})",
            "valueFormatter": {"function": "d3.format(',.2f')(params.value)"},
            **right,
        },
    ]
    grid = dag.AgGrid(
        id="pnl-grid",
        rowData=[
            {
                "period": pnl.period_label(row.period, period),
                "group": row.group,
                "fills": row.fills,
                "realized_pnl": float(row.realized_pnl),  # display only; the CSV is exact
                "fees": float(row.fees),
            }
            for row in rows
        ],
        columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "flex": 1},
        dashGridOptions={"pagination": True, "paginationPageSize": 50, "animateRows": False},
        style={"height": "520px"},
    )
    return html.Div(grid, **{"data-ag-theme-mode": "dark"})  # as the desk's other grids


def summary_cards(rows: list[PnlRow], period: Period) -> dbc.Row:
    totals = pnl.totals_by_period(rows)
    net = sum((row.realized_pnl for row in rows), Decimal(0))
    fees = sum((row.fees for row in rows), Decimal(0))
    fills = sum(row.fills for row in rows)
    best = max(totals.items(), key=lambda item: item[1]) if totals else None
    worst = min(totals.items(), key=lambda item: item[1]) if totals else None

    def which(item):
        return f"{pnl.period_label(item[0], period)}" if item else "—"

    cards = [
        stat_card(
            "Realized P&L, net",
            html.Span(signed(net), className="text-success" if net >= 0 else "text-danger"),
            f"{fills:,} fills",
            value_id="pnl-total",
        ),
        stat_card("Fees paid", plain(fees), "included in the P&L above"),
        stat_card(f"Best {period.value}", signed(best[1]) if best else "—", which(best)),
        stat_card(f"Worst {period.value}", signed(worst[1]) if worst else "—", which(worst)),
    ]
    return dbc.Row([dbc.Col(card, md=3) for card in cards], className="g-3 mb-3")


def radio(component_id: str, options: list[tuple[str, str]], value: str) -> dbc.RadioItems:
    """A row of toggle buttons (Bootstrap's button group), one of them pressed."""
    return dbc.RadioItems(
        id=component_id,
        options=[{"label": label, "value": v} for v, label in options],
        value=value,
        className="btn-group",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-light btn-sm",
        labelCheckedClassName="active",
    )


def controls() -> dbc.Row:
    def labelled(label, control, width):
        return dbc.Col([dbc.Label(label, className="small mb-1 d-block"), control], md=width)

    return dbc.Row(
        [
            labelled(
                "Period",
                radio(
                    "pnl-period",
                    [("day", "Daily"), ("week", "Weekly"), ("month", "Monthly")],
                    "day",
                ),
                3,
            ),
            labelled("By", radio("pnl-by", [("bot", "Bot"), ("symbol", "Symbol")], "bot"), 2),
            labelled("From (UTC)", date_input("pnl-from", debounce=True), 2),
            labelled("To (UTC)", date_input("pnl-to", debounce=True), 2),
        ],
        className="g-2 mb-3 align-items-end",
    )


def layout(**_query):
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H1("P&L report", className="h3 my-3")),
                    dbc.Col(
                        dbc.Button("Export CSV", id="pnl-export", color="light", outline=True),
                        width="auto",
                        className="align-self-center",
                    ),
                ]
            ),
            controls(),
            html.Div(id="pnl-summary", className="small text-secondary mb-2"),
            html.Div(id="pnl-cards"),
            dbc.Card(
                dbc.CardBody(dcc.Graph(id="pnl-chart", config={"displaylogo": False})),
                className="mb-3",
            ),
            dbc.Card(dbc.CardBody(id="pnl-table"), className="mb-3"),
            dcc.Download(id="pnl-download"),
            dcc.Interval(id="pnl-tick", interval=15_000),
        ]
    )


EMPTY_FIGURE = dict(
    layout={
        "template": PLOT_TEMPLATE,
        "height": 120,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "annotations": [
            {"text": "nothing to chart", "showarrow": False, "font": {"color": "#888"}}
        ],
    }
)


@guarded_callback(
    Output("pnl-chart", "figure"),
    Output("pnl-table", "children"),
    Output("pnl-summary", "children"),
    Output("pnl-cards", "children"),
    Input("pnl-period", "value"),
    Input("pnl-by", "value"),
    Input("pnl-from", "value"),
    Input("pnl-to", "value"),
    Input("pnl-tick", "n_intervals"),
    role=Role.VIEWER,
)
def show(period_value, by_value, since, until, _ticks):
    try:
        period, by, rows, first, last = build_report(period_value, by_value, since, until)
    except BadRange as error:
        alert = dbc.Alert(str(error), color="danger", className="mb-0", id="pnl-error")
        return EMPTY_FIGURE, alert, "", None
    span = f"{PERIOD_WORDS[period]} realized P&L by {by.value}, {first} to {last} (UTC days)"
    if not rows:
        empty = html.P(
            [
                f"No fills between {first} and {last}. ",
                "P&L appears here once a bot has traded: start one on the Bots page, "
                "or widen the dates above.",
            ],
            className="mb-0",
            id="pnl-empty",
        )
        return EMPTY_FIGURE, empty, span, None
    return chart(rows, period), table(rows, period, by), span, summary_cards(rows, period)


def csv_text(rows: list[PnlRow], period: Period, by: GroupBy) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "period_start_utc",
            period.value,
            by.value,
            "fills",
            f"realized_pnl_{UNIT.lower()}",
            f"fees_{UNIT.lower()}",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.period.isoformat(),
                pnl.period_label(row.period, period),
                row.group,
                row.fills,
                f"{row.realized_pnl:.8f}",
                f"{row.fees:.8f}",
            ]
        )
    return out.getvalue()


@guarded_callback(
    Output("pnl-download", "data"),
    Input("pnl-export", "n_clicks"),
    State("pnl-period", "value"),
    State("pnl-by", "value"),
    State("pnl-from", "value"),
    State("pnl-to", "value"),
    role=Role.VIEWER,
    prevent_initial_call=True,
)
def export(clicks, period_value, by_value, since, until):
    """Everyone who sees the report may export it (DESIGN.md); each export is audited."""
    if not clicks:
        raise PreventUpdate
    try:
        period, by, rows, first, last = build_report(period_value, by_value, since, until)
    except BadRange:
        raise PreventUpdate from None
    with desk_db().writing() as session:
        audit.record(
            session=session,
            actor=current_user.username,
            user_id=current_user.id,
            action="export.pnl",
            target="pnl",
            ip=request.remote_addr,
            details={
                "period": period.value,
                "by": by.value,
                "from": first,
                "to": last,
                "rows": len(rows),
            },
        )
    name = f"botdesk-pnl-{period.value}-by-{by.value}-{first}-to-{last}.csv"
    return {"content": csv_text(rows, period, by), "filename": name, "type": "text/csv"}
