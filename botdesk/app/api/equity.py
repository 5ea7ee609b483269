"""Equity: snapshots of each bot's equity, cash and P&L, and of the whole portfolio."""

from pydantic import Field
from sqlmodel import col

from botdesk.app.api.inputs import ListQuery, RecordId, UtcTime
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.rows import Resource
from botdesk.db.models import EquitySnapshot

EQUITY = Resource("EquitySnapshot", EquitySnapshot)


class EquityFilters(ListQuery):
    bot_id: RecordId | None = None
    portfolio: bool | None = Field(
        None, description="true: only whole-portfolio snapshots; false: only per-bot ones."
    )
    since: UtcTime | None = None
    until: UtcTime | None = None


def _portfolio(query: EquityFilters) -> list:
    if query.portfolio is None:
        return []
    bot_column = col(EquitySnapshot.bot_id)
    return [bot_column.is_(None) if query.portfolio else bot_column.is_not(None)]


list_endpoint(
    resource=EQUITY,
    rule="/equity",
    tag="equity",
    summary="List equity snapshots",
    filters=EquityFilters,
    time_column="at",
    custom=_portfolio,
    custom_fields=("portfolio",),
)
