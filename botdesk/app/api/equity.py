"""Equity: each bot's snapshots, the whole desk's series (summed from the bots' snapshots
aligned on time), the return and drawdown with capital flows kept apart from P&L, and the
capital flows themselves."""

import csv
import io
from datetime import datetime

from flask import Response, jsonify
from pydantic import Field

from botdesk.app import trade_rows
from botdesk.app.api.inputs import ListQuery, Query, RecordId, UtcTime, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.routing import operation
from botdesk.app.api.rows import MONEY_PATTERN, Resource, money_text, page_schema
from botdesk.app.context import desk_db
from botdesk.db import performance, trades
from botdesk.db.models import CapitalFlow, EquitySnapshot, FlowKind, Scope
from botdesk.db.twr import Point

EQUITY = Resource("EquitySnapshot", EquitySnapshot)
CAPITAL_FLOWS = Resource("CapitalFlow", CapitalFlow)
RATIO_PATTERN = r"^-?[0-9]+\.[0-9]{8}$"
MONEY = {"type": "string", "pattern": MONEY_PATTERN}
RATIO = {"type": "string", "pattern": RATIO_PATTERN}
PORTFOLIO_POINT = {
    "type": "object",
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "bot_id": {"type": ["integer", "null"]},
        "equity": MONEY,
        "flow": MONEY,
        "pnl": MONEY,
        "return": RATIO,
        "drawdown": RATIO,
    },
    "required": ["at", "bot_id", "equity", "flow", "pnl", "return", "drawdown"],
    "additionalProperties": False,
}
PORTFOLIO_PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": PORTFOLIO_POINT},
        "next_cursor": {"type": "null"},
    },
    "required": ["items", "next_cursor"],
    "additionalProperties": False,
}


def ratio_text(value) -> str:
    """A share (0.0123 is 1.23 %) with 8 decimals, exact from the Decimal."""
    return format(value.quantize(performance.RATIO_UNIT) + 0, "f")  # + 0: no "-0"


def point_json(point: Point, bot_id: int | None = None) -> dict:
    return {
        "at": point.at.isoformat(),
        "bot_id": bot_id,
        "equity": money_text(point.equity),
        "flow": money_text(point.flow),
        "pnl": money_text(point.pnl),
        "return": ratio_text(point.cumulative_return),
        "drawdown": ratio_text(point.drawdown),
    }


class EquityFilters(ListQuery):
    bot_id: RecordId | None = None
    portfolio: bool | None = Field(
        None,
        description="true: the whole desk's series (see below); false: only per-bot snapshots.",
    )
    since: UtcTime | None = None
    until: UtcTime | None = None


def _portfolio(query: EquityFilters) -> list:
    if query.portfolio is False:
        return [EquitySnapshot.bot_id.is_not(None)]
    return []


def _portfolio_series(query: EquityFilters):
    if not query.portfolio:
        return None
    items = []
    if _window_open(query.since, query.until):
        with desk_db().reading() as session:
            found = performance.performance(
                session=session,
                bot_id=query.bot_id,
                since=query.since,
                until=query.until,
                points=query.limit,
            )
        items = [point_json(point, query.bot_id) for point in found.points]
    if query.format == "csv":
        return _csv(items)
    return jsonify(items=items, next_cursor=None)


def _csv(items: list[dict]) -> Response:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(PORTFOLIO_POINT["properties"]))
    writer.writeheader()
    writer.writerows(items)  # times, money and ratios only: nothing a sheet would run
    headers = {"Content-Disposition": 'attachment; filename="botdesk-equity-series.csv"'}
    return Response(text.getvalue(), mimetype="text/csv", headers=headers)


def _window_open(since: datetime | None, until: datetime | None) -> bool:
    return since is None or until is None or since < until


list_endpoint(
    resource=EQUITY,
    rule="/equity",
    tag="equity",
    summary="List equity snapshots, or the whole desk's equity series",
    filters=EquityFilters,
    time_column="at",
    custom=_portfolio,
    custom_fields=("portfolio",),
    answer=_portfolio_series,
    response={"anyOf": [page_schema(EQUITY), PORTFOLIO_PAGE]},
    description="With `portfolio=true` the answer is the whole desk's series instead (or "
    "one bot's, with `bot_id`), oldest first, in one page (no cursor): every bot's equity "
    "summed at each time (each bot's newest snapshot per bucket, carried forward; `limit` "
    "buckets at most over since..until, both included, by default the market's last 7 "
    "days), with the capital that came in or went out (`flow`: bots created, deleted, "
    "capital changed), the P&L of each step without the flows, and the time-weighted "
    "`return` and its `drawdown` since the first point (shares: 0.01 is 1 %).",
)


class CapitalFlowFilters(ListQuery):
    bot_id: RecordId | None = None
    kind: one_of(FlowKind) | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None


list_endpoint(
    resource=CAPITAL_FLOWS,
    rule="/capital-flows",
    tag="equity",
    summary="List capital flows (bots created, deleted, capital changed)",
    filters=CapitalFlowFilters,
    time_column="at",
)


class PerformanceQuery(Query):
    bot_id: RecordId | None = Field(None, description="One bot; the whole desk without it.")
    since: UtcTime | None = None
    until: UtcTime | None = None


PERFORMANCE = {
    "type": "object",
    "properties": {
        "bot_id": {"type": ["integer", "null"]},
        "since": {"type": ["string", "null"], "format": "date-time"},
        "until": {"type": ["string", "null"], "format": "date-time"},
        "equity": {"type": ["string", "null"], "pattern": MONEY_PATTERN},
        "pnl": MONEY,
        "net_flows": MONEY,
        "return": RATIO,
        "drawdown": RATIO,
        "max_drawdown": RATIO,
        "trades": {"type": "array", "items": trade_rows.BOT_PERFORMANCE_SCHEMA},
    },
    "required": [
        "bot_id",
        "since",
        "until",
        "equity",
        "pnl",
        "net_flows",
        "return",
        "drawdown",
        "max_drawdown",
        "trades",
    ],
    "additionalProperties": False,
}


@operation(
    "GET",
    "/performance",
    summary="Return and drawdown of a bot or the whole desk, capital flows apart",
    tag="equity",
    scope=Scope.READ,
    response=PERFORMANCE,
    query=PerformanceQuery,
    errors=(400,),
    description="Time-weighted: capital added or taken out (bots created, deleted, "
    "capital changed) is never P&L. Over since..until, by default the market's last 7 "
    "days. `return` and the drawdowns are shares (0.01 is 1 %). `trades`: each bot's "
    "figures over its closed trades (see `/trades`) entered since..until (every closed "
    "trade without them), in the order they closed: win rate, average and total (sum) of "
    "the trades' `pnl_ratio`, total P&L, profit factor (gross profit / gross loss; null "
    "without a loss), max drawdown of the cumulative P&L (quote), average duration and "
    "expectancy (P&L per trade).",
)
def get_performance(holder, query: PerformanceQuery):
    found = performance.Performance([])
    figures = []
    with desk_db().reading() as session:
        if _window_open(query.since, query.until):
            found = performance.performance(
                session=session, bot_id=query.bot_id, since=query.since, until=query.until
            )
        chosen = trades.TradeFilter(bot_id=query.bot_id, since=query.since, until=query.until)
        figures = trades.performance(session=session, chosen=chosen)
    points = found.points
    return jsonify(
        bot_id=query.bot_id,
        since=points[0].at.isoformat() if points else None,
        until=points[-1].at.isoformat() if points else None,
        equity=money_text(found.equity) if found.equity is not None else None,
        pnl=money_text(found.pnl),
        net_flows=money_text(found.net_flows),
        **{"return": ratio_text(found.time_weighted_return)},
        drawdown=ratio_text(found.drawdown),
        max_drawdown=ratio_text(found.max_drawdown),
        trades=[trade_rows.performance_json(figure) for figure in figures],
    )
