"""What the risk limits are measured against, in exact Decimals, read from the ledger.

- Today's P&L of a bot: its equity now minus its equity at 00:00 UTC of market time (the
  last equity snapshot before the day began, or its capital when it has none), so it is
  realized plus unrealized P&L made today. The desk's is the sum over every bot, each
  valued at its latest snapshot.
- Drawdown: how far the bot's equity is below its peak, in percent of the peak; the peak
  is the highest equity snapshot since the last drawdown breach (a trader's resume starts
  afresh), or the equity now.
- Exposure: open positions at their latest price.
"""

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db.models import (
    Bot,
    EquitySnapshot,
    Fill,
    Order,
    Position,
    PositionStatus,
    RiskEvent,
    Side,
)
from botdesk.db.types import quantize, utcnow
from botdesk.engine.accounts import account

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def day_start(at: datetime | None) -> datetime:
    """00:00 UTC of the day `at` (market time; now when unknown) falls in."""
    moment = (at or utcnow()).astimezone(UTC)
    return datetime.combine(moment.date(), time(), UTC)


def _equity_before(session: Session, bot: Bot, start: datetime) -> Decimal:
    equity = session.exec(
        select(EquitySnapshot.equity)
        .where(EquitySnapshot.bot_id == bot.id, EquitySnapshot.at < start)
        .order_by(col(EquitySnapshot.at).desc(), col(EquitySnapshot.id).desc())
        .limit(1)
    ).first()
    return bot.capital if equity is None else equity


def bot_daily_pnl(*, session: Session, bot: Bot, at: datetime | None) -> Decimal:
    """The bot's P&L since 00:00 UTC of `at`'s day: realized plus unrealized."""
    return account(session=session, bot=bot).equity - _equity_before(session, bot, day_start(at))


def desk_daily_pnl(*, session: Session, at: datetime | None) -> Decimal:
    """Every bot's P&L today, each at its latest equity snapshot."""
    start = day_start(at)
    latest = (
        select(EquitySnapshot.bot_id, func.max(EquitySnapshot.id).label("id"))
        .group_by(EquitySnapshot.bot_id)
        .subquery()
    )
    before = (
        select(EquitySnapshot.bot_id, func.max(EquitySnapshot.id).label("id"))
        .where(EquitySnapshot.at < start)
        .group_by(EquitySnapshot.bot_id)
        .subquery()
    )
    now_rows = dict(
        session.exec(
            select(EquitySnapshot.bot_id, EquitySnapshot.equity).join(
                latest, col(EquitySnapshot.id) == latest.c.id
            )
        ).all()
    )
    start_rows = dict(
        session.exec(
            select(EquitySnapshot.bot_id, EquitySnapshot.equity).join(
                before, col(EquitySnapshot.id) == before.c.id
            )
        ).all()
    )
    capitals = dict(session.exec(select(Bot.id, Bot.capital)).all())
    total = ZERO
    for bot_id, equity in now_rows.items():
        if bot_id in capitals:
            total += equity - start_rows.get(bot_id, capitals[bot_id])
    return total


def drawdown_peak_after(session: Session, bot_id: int) -> int:
    """The snapshot id the drawdown peak is searched after: the last breach's, or 0."""
    details = session.exec(
        select(RiskEvent.details)
        .where(
            RiskEvent.bot_id == bot_id,
            RiskEvent.kind == "breach",
            RiskEvent.rule == "max_drawdown",
        )
        .order_by(col(RiskEvent.id).desc())
        .limit(1)
    ).first()
    if not details:
        return 0
    return int(json.loads(details).get("snapshot_id") or 0)


def drawdown_percent(*, session: Session, bot: Bot) -> tuple[Decimal, Decimal, Decimal]:
    """(drawdown in % of the peak, peak equity, equity now)."""
    equity = account(session=session, bot=bot).equity
    peak = session.exec(
        select(func.max(EquitySnapshot.equity)).where(
            EquitySnapshot.bot_id == bot.id,
            col(EquitySnapshot.id) > drawdown_peak_after(session, bot.id),
        )
    ).one()
    peak = max(peak if peak is not None else equity, equity)
    if peak <= 0:
        return ZERO, peak, equity
    return quantize((peak - equity) / peak * HUNDRED), peak, equity


def exposure(*, session: Session, bot_id: int | None = None) -> Decimal:
    """Open positions at their latest price: one bot's, or everyone's."""
    query = select(Position).where(Position.status == PositionStatus.OPEN)
    if bot_id is not None:
        query = query.where(Position.bot_id == bot_id)
    return sum((_value(position) for position in session.exec(query)), ZERO)


def _value(position: Position) -> Decimal:
    return quantize(position.quantity * (position.last_price or position.entry_price or ZERO))


def exposure_by_symbol(*, session: Session) -> dict[str, Decimal]:
    """Open positions' market value by symbol, all bots together."""
    totals: dict[str, Decimal] = {}
    for position in session.exec(select(Position).where(Position.status == PositionStatus.OPEN)):
        totals[position.symbol] = totals.get(position.symbol, ZERO) + _value(position)
    return dict(sorted(totals.items()))


def open_positions(*, session: Session, bot_id: int | None = None) -> int:
    query = select(func.count()).select_from(Position).where(Position.status == PositionStatus.OPEN)
    if bot_id is not None:
        query = query.where(Position.bot_id == bot_id)
    return session.exec(query).one()


def last_entry_fill_at(*, session: Session, bot_id: int) -> datetime | None:
    return session.exec(
        select(func.max(Fill.filled_at)).where(Fill.bot_id == bot_id, Fill.side == Side.BUY)
    ).one()


def entries_in_last_minute(*, session: Session, bot_id: int) -> int:
    since = utcnow() - timedelta(minutes=1)
    return session.exec(
        select(func.count())
        .select_from(Order)
        .where(Order.bot_id == bot_id, Order.side == Side.BUY, col(Order.created_at) > since)
    ).one()
