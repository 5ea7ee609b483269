"""Capital flows, written in the transaction of the change that makes them: a bot created
(its capital comes in), its capital changed (the difference), a bot deleted (its equity
goes out, and its equity history is kept in deleted_bot_equity).

A flow's time is the market's clock (the newest equity snapshot's time: on a replay, the
replayed time; live, the last closed candle; before any snapshot, CLOCK_START), so it
falls after every snapshot written before it and before every one written after it; the
wall clock is kept beside it.
"""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import Session, col, func, select

from botdesk.db.models import (
    Bot,
    CapitalFlow,
    DeletedBotEquity,
    EquitySnapshot,
    FlowKind,
    Position,
)
from botdesk.db.types import utcnow

ZERO = Decimal(0)


# Before any equity snapshot the market's clock has not started: a flow then is dated at
# its beginning, so it precedes every snapshot to come (a replay's are years before the
# wall clock: dated by the wall clock, the flow would fall after them all).
CLOCK_START = datetime(1970, 1, 1, tzinfo=UTC)


def market_clock(*, session: Session) -> datetime:
    """The newest equity snapshot's time, or CLOCK_START before any."""
    return session.exec(select(func.max(EquitySnapshot.at))).one() or CLOCK_START


def _record(session: Session, bot: Bot, kind: FlowKind, amount: Decimal, actor: str):
    flow = CapitalFlow(
        bot_id=bot.id,
        bot_name=bot.name,
        at=market_clock(session=session),
        recorded_at=utcnow(),
        amount=amount,
        kind=kind,
        actor=actor[:64],
    )
    session.add(flow)
    return flow


def bot_created(*, session: Session, bot: Bot, actor: str) -> CapitalFlow:
    """The new bot's capital comes in (call after the bot row is flushed: it needs the id)."""
    return _record(session, bot, FlowKind.CREATED, bot.capital, actor)


def capital_changed(
    *, session: Session, bot: Bot, before: Decimal, actor: str
) -> CapitalFlow | None:
    """The difference between the bot's capital now and `before`; None when unchanged."""
    if bot.capital == before:
        return None
    return _record(session, bot, FlowKind.CHANGED, bot.capital - before, actor)


def bot_deleted(*, session: Session, bot: Bot, actor: str) -> CapitalFlow:
    """Before the bot row is deleted: its equity (capital plus realized P&L; a bot is only
    deleted flat) goes out, and its equity snapshots are copied to deleted_bot_equity."""
    realized = session.exec(
        select(func.sum(Position.realized_pnl)).where(Position.bot_id == bot.id)
    ).one()
    columns = ("bot_id", "at", "candle_open_ms", "equity", "realized_pnl", "unrealized_pnl")
    kept = select(*(col(getattr(EquitySnapshot, name)) for name in columns)).where(
        EquitySnapshot.bot_id == bot.id
    )
    session.exec(insert(DeletedBotEquity).from_select(columns, kept))
    return _record(session, bot, FlowKind.DELETED, -(bot.capital + (realized or ZERO)), actor)


def flows(
    *,
    session: Session,
    bot_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[CapitalFlow]:
    """Flows in market-clock order, of one bot or all, with since <= at <= until."""
    query = select(CapitalFlow)
    if bot_id is not None:
        query = query.where(CapitalFlow.bot_id == bot_id)
    if since is not None:
        query = query.where(col(CapitalFlow.at) >= since)
    if until is not None:
        query = query.where(col(CapitalFlow.at) <= until)
    return list(session.exec(query.order_by(col(CapitalFlow.at), col(CapitalFlow.id))))


def flows_since(*, session: Session, bot_id: int, at: datetime) -> Decimal:
    """The bot's capital flows at or after `at` (market clock), summed."""
    total = session.exec(
        select(func.sum(CapitalFlow.amount)).where(
            CapitalFlow.bot_id == bot_id, col(CapitalFlow.at) >= at
        )
    ).one()
    return total or ZERO
