"""Risk events: refused orders, breached limits, circuit breakers, the kill switch."""

from typing import Literal

from botdesk.app.api.inputs import ListQuery, Name, RecordId, UtcTime
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.rows import Resource
from botdesk.db.models import RiskEvent

RISK_EVENTS = Resource("RiskEvent", RiskEvent, json_columns=frozenset({"details"}))


class RiskEventFilters(ListQuery):
    bot_id: RecordId | None = None
    kind: Name | None = None
    severity: Literal["info", "warning", "critical"] | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None


list_endpoint(
    resource=RISK_EVENTS,
    rule="/risk-events",
    tag="risk",
    summary="List risk events",
    filters=RiskEventFilters,
    time_column="at",
)
