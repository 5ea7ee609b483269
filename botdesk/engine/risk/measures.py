"""What the risk limits are measured against, in exact Decimals, read from the ledger.

- Today's P&L of a bot: its equity now minus its equity at 00:00 UTC of market time (the
  last equity snapshot before the day began, plus the capital flows since it; or its
  capital when it has none), so it is realized plus unrealized P&L made today, and
  capital added or taken out is neither. The desk's is the sum over every bot.
- Drawdown: how far the bot's equity is below its peak, in percent of the peak; the peak
  is the highest equity snapshot since the last drawdown breach (a trader's resume starts
  afresh), each with the capital flows after it added, or the equity now.
- Exposure: open positions at their latest price.
"""

import json
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db import capital_flows
from botdesk.db.models import (
    Bot,
    CapitalFlow,
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
from botdesk.engine.risk.entries import ORDER_RATE_WINDOW

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def day_start(at: datetime | None) -> datetime:
    """00:00 UTC of the day `at` (market time; now when unknown) falls in."""
    moment = (at or utcnow()).astimezone(UTC)
    return datetime.combine(moment.date(), time(), UTC)


def _equity_before(session: Session, bot_id: int, capital: Decimal, start: datetime) -> Decimal:
    """The bot's last equity snapshot before `start` with the capital flows since it (so
    capital added or taken out is not P&L), or its capital when it has none."""
    last = session.exec(
        select(EquitySnapshot.equity, EquitySnapshot.at)
        .where(EquitySnapshot.bot_id == bot_id, EquitySnapshot.at < start)
        .order_by(col(EquitySnapshot.at).desc(), col(EquitySnapshot.id).desc())
        .limit(1)
    ).first()
    if last is None:
        return capital
    equity, at = last
    return equity + capital_flows.flows_since(session=session, bot_id=bot_id, at=at)


def _equity_now(session: Session, bot: Bot, equity: Decimal | None) -> Decimal:
    """The bot's equity: as given (the snapshot the candle just wrote), else from its book."""
    return equity if equity is not None else account(session=session, bot=bot).equity


def day_baseline(*, session: Session, bot: Bot, at: datetime | None) -> Decimal:
    """The bot's equity at 00:00 UTC of `at`'s day (what today's P&L is measured from); it
    never changes once the day has begun, so the batched candle path keeps it."""
    return _equity_before(session, bot.id, bot.capital, day_start(at))


def bot_daily_pnl(
    *,
    session: Session,
    bot: Bot,
    at: datetime | None,
    equity: Decimal | None = None,
    baseline: Decimal | None = None,
) -> Decimal:
    """The bot's P&L since 00:00 UTC of `at`'s day: realized plus unrealized. Pass its
    `equity` and `baseline` (`day_baseline`) when already at hand."""
    if baseline is None:
        baseline = day_baseline(session=session, bot=bot, at=at)
    return _equity_now(session, bot, equity) - baseline


# the desk's equity at 00:00 UTC, for one (database, day, set of bots and capitals)
_baselines: dict[tuple, Decimal] = {}


def desk_daily_pnl(*, session: Session, at: datetime | None) -> Decimal:
    """Every bot's P&L today together: the sum of their equity now (capital + realized P&L
    + unrealized P&L of open positions) minus the sum of their equity at 00:00 UTC.

    The equity at 00:00 UTC never changes once the day has begun, so it is read once per
    day (one indexed query per bot) and kept until the bots or their capital change; the
    rest is a few sums, cheap enough for every bot's every candle.
    """
    return _desk_pnl(session, at, _desk_open_positions(session))


def desk_standing(
    *, session: Session, at: datetime | None, pnl_needed: bool
) -> tuple[Decimal, int, Decimal | None]:
    """The whole desk's (`exposure`, `open_positions`, `desk_daily_pnl`, None unless
    `pnl_needed`), with its open positions read once for the three: two statements."""
    held = _desk_open_positions(session)
    exposure = sum((value for value, _cost in held), ZERO)
    return exposure, len(held), _desk_pnl(session, at, held) if pnl_needed else None


def _desk_open_positions(session: Session) -> list[tuple[Decimal, Decimal]]:
    """(value at the latest price, cost basis) of every open position of the desk."""
    return [
        (_value_of(quantity, last_price, entry_price), cost_basis)
        for quantity, last_price, entry_price, cost_basis in session.exec(
            select(
                Position.quantity, Position.last_price, Position.entry_price, Position.cost_basis
            ).where(Position.status == PositionStatus.OPEN)
        )
    ]


def _desk_pnl(session: Session, at: datetime | None, held: list[tuple[Decimal, Decimal]]):
    start = day_start(at)
    flows = select(func.max(CapitalFlow.id)).scalar_subquery()
    realized = select(func.sum(Position.realized_pnl)).scalar_subquery()
    capital, bots, newest, flows, realized = session.exec(
        select(func.sum(Bot.capital), func.count(col(Bot.id)), func.max(Bot.id), flows, realized)
    ).one()
    key = (str(session.get_bind().url), start.date(), capital, bots, newest, flows)
    baseline = _baselines.get(key)
    if baseline is None:
        rows = session.exec(select(Bot.id, Bot.capital)).all()
        _baselines.clear()
        baseline = _baselines[key] = sum(
            (_equity_before(session, bot_id, cash, start) for bot_id, cash in rows), ZERO
        )
    unrealized = sum((value - cost for value, cost in held), ZERO)
    return (capital or ZERO) + (realized or ZERO) + unrealized - baseline


def market_now(*, session: Session) -> datetime | None:
    """The engine's market clock as the desk sees it: the newest equity snapshot's time
    (the replay's time in a replay); None before any."""
    return session.exec(select(func.max(EquitySnapshot.at))).one()


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


def stored_peak(*, session: Session, bot_id: int) -> Decimal | None:
    """The drawdown peak since the bot's last drawdown breach (None: no snapshot): each
    snapshot counts with the capital flows after it added, so capital taken out is no
    drawdown and capital added lifts no peak."""
    return _peak(session, bot_id, drawdown_peak_after(session, bot_id))


def drawdown_percent(
    *, session: Session, bot: Bot, equity: Decimal | None = None, peak: Decimal | None = None
) -> tuple[Decimal, Decimal, Decimal]:
    """(drawdown in % of the peak, peak equity, equity now); pass `equity` when at hand,
    and `peak` (`stored_peak`, kept up to date by the caller) to spare the queries."""
    equity = _equity_now(session, bot, equity)
    if peak is None:
        peak = stored_peak(session=session, bot_id=bot.id)
    peak = max(peak if peak is not None else equity, equity)
    if peak <= 0:
        return ZERO, peak, equity
    return quantize((peak - equity) / peak * HUNDRED), peak, equity


def _peak(session: Session, bot_id: int, after_id: int) -> Decimal | None:
    """The highest snapshot after `after_id`, each with the capital flows after it added:
    one max per stretch between two flows (a bot has few)."""
    flows = session.exec(
        select(CapitalFlow.at, CapitalFlow.amount)
        .where(CapitalFlow.bot_id == bot_id)
        .order_by(col(CapitalFlow.at))
    ).all()
    peak, later, until = None, sum((amount for _, amount in flows), ZERO), None
    for at, amount in [*flows, (None, ZERO)]:
        query = select(func.max(EquitySnapshot.equity)).where(
            EquitySnapshot.bot_id == bot_id, col(EquitySnapshot.id) > after_id
        )
        if until is not None:
            query = query.where(col(EquitySnapshot.at) > until)
        if at is not None:
            query = query.where(col(EquitySnapshot.at) <= at)
        highest = session.exec(query).one()
        if highest is not None and (peak is None or highest + later > peak):
            peak = highest + later
        later, until = later - amount, at
    return peak


def exposure(*, session: Session, bot_id: int | None = None) -> Decimal:
    """Open positions at their latest price: one bot's, or everyone's."""
    return exposure_and_count(session=session, bot_id=bot_id)[0]


def exposure_and_count(*, session: Session, bot_id: int | None = None) -> tuple[Decimal, int]:
    """`exposure` and `open_positions` of one bot, or everyone's, with one query."""
    query = select(Position).where(Position.status == PositionStatus.OPEN)
    if bot_id is not None:
        query = query.where(Position.bot_id == bot_id)
    held = session.exec(query).all()
    return exposure_of(held), len(held)


def exposure_of(held: list[Position]) -> Decimal:
    """`exposure` of open positions already at hand."""
    return sum((_value(position) for position in held), ZERO)


def _value(position: Position) -> Decimal:
    return _value_of(position.quantity, position.last_price, position.entry_price)


def _value_of(quantity: Decimal, last_price: Decimal | None, entry_price: Decimal | None):
    return quantize(quantity * (last_price or entry_price or ZERO))


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
    since = utcnow() - ORDER_RATE_WINDOW
    return session.exec(
        select(func.count())
        .select_from(Order)
        .where(Order.bot_id == bot_id, Order.side == Side.BUY, col(Order.created_at) > since)
    ).one()
