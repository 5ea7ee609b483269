"""Signals: what the strategies and TradingView alerts proposed, and what became of it."""

from typing import Literal

from botdesk.app.api.inputs import ListQuery, RecordId, Symbol, UtcTime, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.rows import Resource
from botdesk.db.models import Side, Signal, SignalStatus

SIGNALS = Resource("Signal", Signal)


class SignalFilters(ListQuery):
    bot_id: RecordId | None = None
    symbol: Symbol | None = None
    side: one_of(Side) | None = None
    status: one_of(SignalStatus) | None = None
    source: Literal["strategy", "webhook", "manual"] | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None


list_endpoint(
    resource=SIGNALS,
    rule="/signals",
    tag="signals",
    summary="List signals",
    filters=SignalFilters,
    time_column="created_at",
)
