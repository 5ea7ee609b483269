"""Backtest runs: what each was asked (strategy, data, costs, and how its entries were
sized: "risk" with the limits it used, or "all-cash"), its status and its figures."""

from typing import Literal

from flask import jsonify

from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import ListQuery, Name, Symbol
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.routing import ID, operation
from botdesk.app.api.rows import Resource
from botdesk.app.context import desk_db
from botdesk.db.api_keys import KeyHolder
from botdesk.db.backtest_runs import ALL_CASH, RISK
from botdesk.db.models import BacktestRun, Scope

# The curve and the trades are the desk's to draw and export; a list stays small.
BACKTESTS = Resource(
    "BacktestRun",
    BacktestRun,
    hidden=frozenset({"equity_curve", "trade_list"}),
    json_columns=frozenset({"params"}),
)


class BacktestFilters(ListQuery):
    strategy: Name | None = None
    symbol: Symbol | None = None
    status: Literal["queued", "running", "done", "failed"] | None = None
    sizing: Literal[RISK, ALL_CASH] | None = None


list_endpoint(
    resource=BACKTESTS,
    rule="/backtests",
    tag="backtests",
    summary="List backtest runs: settings (sizing included), status, figures",
    filters=BacktestFilters,
)


@operation(
    "GET",
    f"/backtests/<{ID}:run_id>",
    summary="One backtest run",
    tag="backtests",
    scope=Scope.READ,
    response={
        "type": "object",
        "properties": {"backtest": {"$ref": "#/components/schemas/BacktestRun"}},
        "required": ["backtest"],
    },
    errors=(404,),
)
def get_backtest(run_id: int, holder: KeyHolder):
    with desk_db().reading() as session:
        run = session.get(BacktestRun, run_id)
    if run is None:
        raise ApiError(404, "not_found", f"no backtest run {run_id}")
    return jsonify(backtest=BACKTESTS.to_json(run))
