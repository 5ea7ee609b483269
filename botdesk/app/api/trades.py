"""Trades: one per round trip (a position from its first fill back to flat) with its exits,
built from the fills (botdesk.db.trades)."""

from flask import Response, jsonify

from botdesk.app import trade_rows
from botdesk.app.api.inputs import ListQuery, RecordId, Symbol, UtcTime, one_of
from botdesk.app.api.routing import operation
from botdesk.app.context import desk_db
from botdesk.app.exports import file_name
from botdesk.db import trades
from botdesk.db.models import PositionStatus, Scope

TRADE_PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": trade_rows.TRADE_SCHEMA},
        "next_cursor": {"type": ["integer", "null"]},
    },
    "required": ["items", "next_cursor"],
    "additionalProperties": False,
}


class TradeFilters(ListQuery):
    bot_id: RecordId | None = None
    symbol: Symbol | None = None
    status: one_of(PositionStatus) | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None


def chosen(query) -> trades.TradeFilter:
    return trades.TradeFilter(
        bot_id=query.bot_id,
        symbol=query.symbol,
        since=query.since,
        until=query.until,
        status=getattr(query, "status", None),
    )


@operation(
    "GET",
    "/trades",
    summary="List trades (round trips) with their exits",
    tag="trades",
    scope=Scope.READ,
    response=TRADE_PAGE,
    query=TradeFilters,
    csv=True,
    errors=(400,),
    description="Newest entry first, open trades too. Pass `next_cursor` back as `cursor` "
    "for the next page, with the same filters; `since`/`until` bound the entry time "
    "(until excluded). A trade's figures are its fills summed: `pnl` is realized, net of "
    "every fee (the position's realized P&L), `pnl_ratio` is `pnl` / `cost` (a share: 0.01 "
    "is 1 %), prices are the average of the buys and of the sells; each sell order is one "
    "of `exits` (several: partial exits), with the operator's reason (`note`) when a close "
    "or a flatten sent it. `format=csv` answers the same page as CSV, each exit on its own "
    "line below its trade (the next cursor in the `X-Next-Cursor` header).",
)
def list_trades(holder, query: TradeFilters):
    with desk_db().reading() as session:
        found = trades.trades(
            session=session, chosen=chosen(query), limit=query.limit, before_id=query.cursor
        )
    if query.format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="{file_name("trade")}"'}
        if found.next_before_id is not None:
            headers["X-Next-Cursor"] = str(found.next_before_id)
        return Response(trade_rows.trades_csv(found.trades), mimetype="text/csv", headers=headers)
    return jsonify(
        items=[trade_rows.trade_json(trade) for trade in found.trades],
        next_cursor=found.next_before_id,
    )
