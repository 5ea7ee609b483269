"""What the desk's overview and bot pages read: bots with their P&L and open position,
today's P&L, the latest signals and risk events (the equity curve, return and drawdown
are botdesk.db.performance's).

"Today" is the UTC day of the market's clock: the newest equity snapshot (on a replay, the
replayed day; live, today). Every query here is bounded (indexed ranges, LIMITs, one row
per bot), so the pages stay fast on a million-row history.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db.models import (
    AccountBalance,
    Bot,
    CapitalFlow,
    EquitySnapshot,
    ExchangeAccount,
    Fill,
    Position,
    PositionStatus,
    Protection,
    RiskEvent,
    Signal,
)

ZERO = Decimal(0)


@dataclass(frozen=True)
class BotLine:
    bot: Bot
    environment: str  # paper | testnet | live
    position: Position | None  # the open one
    realized_pnl: Decimal
    unrealized_pnl: Decimal

    @property
    def pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl


def environment_of(bot: Bot, account: ExchangeAccount | None) -> str:
    if bot.broker == "paper":
        return "paper"
    return account.environment if account is not None else "testnet"


def bot_lines(*, session: Session, bot_id: int | None = None) -> list[BotLine]:
    """Every bot (or one) by name, with its open position and P&L from its positions."""
    query = select(Bot).order_by(col(Bot.name))
    if bot_id is not None:
        query = query.where(Bot.id == bot_id)
    bots = list(session.exec(query))
    accounts = {a.id: a for a in session.exec(select(ExchangeAccount))}
    realized = realized_by_bot(session=session)
    open_positions = {
        p.bot_id: p
        for p in session.exec(select(Position).where(Position.status == PositionStatus.OPEN))
    }
    return [
        BotLine(
            bot=bot,
            environment=environment_of(bot, accounts.get(bot.exchange_account_id)),
            position=open_positions.get(bot.id),
            realized_pnl=realized.get(bot.id) or ZERO,
            unrealized_pnl=open_positions[bot.id].unrealized_pnl
            if bot.id in open_positions
            else ZERO,
        )
        for bot in bots
    ]


def realized_by_bot(*, session: Session) -> dict[int, Decimal]:
    """Each bot's realized P&L over all its positions (bots that never held are absent)."""
    query = select(Position.bot_id, func.sum(Position.realized_pnl)).group_by(col(Position.bot_id))
    return dict(session.exec(query).all())


def market_now(*, session: Session) -> datetime | None:
    return session.exec(select(func.max(EquitySnapshot.at))).one()


def day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), UTC)


@dataclass(frozen=True)
class Today:
    day: datetime | None  # 00:00 UTC of the market's day; None before any snapshot
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    open_positions: int


def today(*, session: Session) -> Today:
    now = market_now(session=session)
    unrealized, count = session.exec(
        select(func.sum(Position.unrealized_pnl), func.count(col(Position.id))).where(
            Position.status == PositionStatus.OPEN
        )
    ).one()
    if now is None:
        return Today(None, ZERO, unrealized or ZERO, count)
    start = day_start(now)
    realized = session.exec(
        select(func.sum(Fill.realized_pnl)).where(col(Fill.filled_at) >= start)
    ).one()
    return Today(start, realized or ZERO, unrealized or ZERO, count)


def latest_signals(*, session: Session, limit: int = 8) -> list[Signal]:
    return list(session.exec(select(Signal).order_by(col(Signal.id).desc()).limit(limit)))


def latest_risk_events(*, session: Session, limit: int = 8) -> list[RiskEvent]:
    return list(session.exec(select(RiskEvent).order_by(col(RiskEvent.id).desc()).limit(limit)))


def bot_names(*, session: Session) -> dict[int, str]:
    return dict(session.exec(select(Bot.id, Bot.name)).all())


def change_marker(*, session: Session) -> list:
    """Changes whenever anything the overview shows changes (each part an indexed max)."""
    parts = (
        func.max(EquitySnapshot.id),
        func.max(Signal.id),
        func.max(RiskEvent.id),
        func.max(Bot.updated_at),
        func.max(Bot.status_changed_at),
        func.max(CapitalFlow.id),
        func.max(AccountBalance.read_at),  # the wallet: an exchange account read again
    )
    return [str(session.exec(select(part)).one()) for part in parts]


def open_positions_marker(*, session: Session) -> list:
    """Changes when a position opens, closes, is marked to a new price, has its stop or
    take-profit moved, or when a protection the exchange holds changes."""
    open_only = Position.status == PositionStatus.OPEN
    row = session.exec(
        select(
            func.max(Position.id),
            func.count(col(Position.id)),
            func.sum(Position.unrealized_pnl),
            func.sum(Position.quantity),
            func.sum(Position.stop_price),
            func.sum(Position.take_profit),
            select(func.max(Protection.id)).scalar_subquery(),
            select(func.max(Protection.updated_at)).scalar_subquery(),
        ).where(open_only)
    ).one()  # one round trip: the Positions page asks on every poll
    return [str(value) for value in row]


def book_marker(*, session: Session) -> list:
    """Changes when a fill is booked or a position opens or closes (dust written off too),
    not when an open position is marked to a new price: what realized P&L and holdings
    show moves only then."""
    newest_fill = session.exec(select(func.max(Fill.id))).one()
    row = session.exec(
        select(func.max(Position.id), func.count(col(Position.id))).where(
            Position.status == PositionStatus.OPEN
        )
    ).one()
    return [str(newest_fill), *(str(value) for value in row)]


def unrealized_by_bot(*, session: Session) -> dict[int, Decimal]:
    """Each bot's open position marked at the latest price (bots without one are absent)."""
    query = select(Position.bot_id, Position.unrealized_pnl).where(
        Position.status == PositionStatus.OPEN
    )
    return dict(session.exec(query).all())


def bot_signals_since(*, session: Session, bot_id: int, since_ms: int) -> list[Signal]:
    """The bot's signals on candles from `since_ms` on (a chart's window)."""
    query = select(Signal).where(Signal.bot_id == bot_id, col(Signal.candle_open_ms) >= since_ms)
    return list(session.exec(query.order_by(col(Signal.id)).limit(2000)))


def bot_fills_since(*, session: Session, bot_id: int, since: datetime) -> list[Fill]:
    query = select(Fill).where(Fill.bot_id == bot_id, col(Fill.filled_at) >= since)
    return list(session.exec(query.order_by(col(Fill.id)).limit(2000)))


def bot_marker(*, session: Session, bot_id: int) -> list:
    """Changes when the bot processed a candle, changed state, signalled or filled."""
    bot = session.get(Bot, bot_id)
    if bot is None:
        return [None]
    signal = session.exec(select(func.max(Signal.id)).where(Signal.bot_id == bot_id)).one()
    fill = session.exec(select(func.max(Fill.id)).where(Fill.bot_id == bot_id)).one()
    return [bot.last_candle_ms, bot.status, str(bot.updated_at), signal, fill]
