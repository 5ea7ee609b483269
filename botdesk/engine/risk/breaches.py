"""Breaches: what the engine does when a bot's losses or its broker go wrong.

Run by the bot's candle transaction (`botdesk.engine.trading.process_candle`):
- daily loss: a bot down its `daily_loss_limit` today is paused; the desk down the global
  `daily_loss_limit` pauses every running bot. The limit resets at 00:00 UTC (market
  time): a bot paused by it resumes by itself on its first candle of the next day. A
  trader may also resume it earlier with bot.start; the limit then still refuses entries
  and pauses it again on its next candle while today's loss stays beyond it.
- drawdown: a bot whose equity falls `max_drawdown` % below its peak is paused and stays
  paused until a trader resumes it (bot.start); its peak then starts afresh.
- a paused bot keeps managing its open position (stops, take-profits, exit signals) and
  opens nothing new; its resting buy orders are cancelled.
Each breach writes a `risk_event` (kind "breach", severity "critical").

Circuit breaker (from the order path and after a candle's fills): when the bot's last
`circuit_breaker_errors` orders were all rejected by the broker within
`circuit_breaker_window_seconds`, the bot is halted (stopped, status "halted"), its open
orders cancelled, and a `risk_event` (kind "circuit_breaker") is written. A trader starts
it again with bot.start once the cause is fixed.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from botdesk.db import risk_limits
from botdesk.db.models import (
    OPEN_ORDER_STATUSES,
    Bot,
    BotState,
    EquitySnapshot,
    Order,
    OrderStatus,
    RiskEvent,
    Side,
)
from botdesk.db.types import utcnow
from botdesk.engine import announce
from botdesk.engine.risk import measures

log = logging.getLogger(__name__)

DAILY_LOSS_PAUSE = "paused by the daily loss limit for "  # then the day, YYYY-MM-DD
DRAWDOWN_PAUSE = "paused by the max drawdown"
CIRCUIT_BREAKER_HALT = "halted by the circuit breaker"


def _event(session: Session, bot_id: int | None, kind: str, rule: str, message: str, **details):
    event = RiskEvent(
        bot_id=bot_id,
        kind=kind,
        rule=rule,
        severity="critical" if kind != "resume" else "info",
        message=message,
        details=json.dumps(details, default=str) if details else None,
    )
    session.add(event)
    announce.risk_event(session, event)  # a breach or the circuit breaker, to the channels
    log.warning("risk %s (%s): %s", kind, rule, message)


def _pause(bot: Bot, reason: str) -> None:
    bot.desired_state = BotState.PAUSED
    bot.status = BotState.PAUSED
    bot.status_reason = reason
    bot.status_changed_at = bot.updated_at = utcnow()


def _cancel(session: Session, bot: Bot, broker, *where) -> None:
    orders = session.exec(
        select(Order).where(
            Order.bot_id == bot.id, Order.broker == broker.name,
            col(Order.status).in_(OPEN_ORDER_STATUSES), col(Order.protection_id).is_(None),
            *where,
        )
    ).all()  # fmt: skip
    if orders:
        broker.cancel(session, list(orders))


def before_candle(session: Session, bot: Bot, broker) -> None:
    """A paused bot's resting buys are cancelled before the candle could fill them (a
    global pause pauses bots whose orders were sent before it)."""
    if bot.desired_state == BotState.PAUSED:
        _cancel(session, bot, broker, Order.side == Side.BUY)


@dataclass(frozen=True)
class KnownMeasures:
    """What the batched candle path already knows of a bot's measures (read once per
    candle for all its bots, or kept since the bot's previous candle)."""

    baseline: Decimal  # the bot's equity at 00:00 UTC today (`measures.day_baseline`)
    peak: Decimal | None  # `measures.stored_peak` before this candle's snapshot
    desk_pnl: Callable[[], Decimal]  # the desk's P&L today, as `measures.desk_daily_pnl`


def after_candle(
    session: Session,
    bot: Bot,
    broker,
    at: datetime,
    equity: Decimal,
    known: KnownMeasures | None = None,
) -> None:
    """Resume a bot whose daily-loss pause is over, or pause one that breaks a limit;
    `equity` is the bot's equity the candle's snapshot just recorded; `known` spares the
    queries for what the caller already has."""
    if bot.desired_state == BotState.PAUSED:
        _resume_next_day(session, bot, at)
        return
    if bot.desired_state != BotState.RUNNING:
        return
    limits = risk_limits.effective(session=session, bot_id=bot.id)
    day = measures.day_start(at).date()
    own = limits.get("daily_loss_limit")
    if own is not None:
        pnl = measures.bot_daily_pnl(
            session=session,
            bot=bot,
            at=at,
            equity=equity,
            baseline=known.baseline if known is not None else None,
        )
        if pnl <= -own:
            message = f"{bot.name} lost {-pnl:.2f} USDT on {day} (UTC), limit {own} USDT"
            _pause(bot, f"{DAILY_LOSS_PAUSE}{day}: {message}")
            _cancel(session, bot, broker, Order.side == Side.BUY)
            _event(session, bot.id, "breach", "daily_loss_limit", message, day=day, pnl=pnl)
            return
    desk = limits.desk.get("daily_loss_limit")
    if desk is not None:
        if known is not None:
            pnl = known.desk_pnl()
        else:
            pnl = measures.desk_daily_pnl(session=session, at=at)
        if pnl <= -desk:
            _pause_everyone(session, bot, broker, day, pnl, desk)
            return
    limit = limits.get("max_drawdown")
    if limit is not None:
        peak = None
        if known is not None:  # no stored peak yet: the equity now is the peak
            peak = known.peak if known.peak is not None else equity
        drawdown, peak, equity = measures.drawdown_percent(
            session=session, bot=bot, equity=equity, peak=peak
        )
        if drawdown >= limit:
            message = (
                f"{bot.name}'s equity {equity:.2f} is {drawdown:.2f}% below its peak of "
                f"{peak:.2f}, limit {limit}%: a trader must resume it"
            )
            _pause(bot, f"{DRAWDOWN_PAUSE}: {message}")
            _cancel(session, bot, broker, Order.side == Side.BUY)
            session.flush()
            last = session.exec(
                select(EquitySnapshot.id)
                .where(EquitySnapshot.bot_id == bot.id)
                .order_by(col(EquitySnapshot.id).desc())
                .limit(1)
            ).first()
            _event(session, bot.id, "breach", "max_drawdown", message, snapshot_id=last or 0)


def _pause_everyone(session: Session, bot: Bot, broker, day: date, pnl, limit) -> None:
    message = f"the desk lost {-pnl:.2f} USDT on {day} (UTC), global limit {limit} USDT"
    reason = f"{DAILY_LOSS_PAUSE}{day}: {message}"
    now = utcnow()
    session.execute(
        update(Bot)
        .where(Bot.desired_state == BotState.RUNNING, Bot.status == BotState.RUNNING)
        .values(
            desired_state=BotState.PAUSED,
            status=BotState.PAUSED,
            status_reason=reason,
            status_changed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    _pause(bot, reason)
    _cancel(session, bot, broker, Order.side == Side.BUY)
    _event(session, None, "breach", "daily_loss_limit", message, day=day, pnl=pnl)


def _resume_next_day(session: Session, bot: Bot, at: datetime) -> None:
    reason = bot.status_reason or ""
    if bot.status != BotState.PAUSED or not reason.startswith(DAILY_LOSS_PAUSE):
        return
    try:
        paused_on = date.fromisoformat(reason[len(DAILY_LOSS_PAUSE) :][:10])
    except ValueError:
        return
    today = measures.day_start(at).date()
    if today <= paused_on:
        return
    bot.desired_state = bot.status = BotState.RUNNING
    bot.status_reason = None
    bot.status_changed_at = bot.updated_at = utcnow()
    _event(
        session,
        bot.id,
        "resume",
        "daily_loss_limit",
        f"{bot.name} resumed: the daily loss limit of {paused_on} reset at 00:00 UTC {today}",
    )


BROKER_FAILURES = (OrderStatus.REJECTED, OrderStatus.EXPIRED)
# a bot's latest orders, built once (`ledger._OPEN_POSITION` says why)
_LATEST_ORDERS = (
    select(Order.status, Order.status_reason, Order.created_at)
    .where(Order.bot_id == bindparam("bot_id"))
    .order_by(col(Order.id).desc())
    .limit(bindparam("count"))
)


def trip_circuit_breaker(session: Session, bot: Bot, broker) -> bool:
    """Halt the bot if its last N orders all failed within the window; True if so.

    Failed: rejected by the broker, or expired (an exchange order that timeouts and 5xx
    answers kept from being placed within its send window)."""
    if bot.status == BotState.HALTED:
        return False
    limits = risk_limits.effective(session=session, bot_id=bot.id)
    errors = limits.get("circuit_breaker_errors")
    window = limits.get("circuit_breaker_window_seconds")
    if errors is None or window is None:
        return False
    since = utcnow() - timedelta(seconds=int(window))
    latest = session.exec(_LATEST_ORDERS, params={"bot_id": bot.id, "count": int(errors)}).all()
    if len(latest) < errors or any(
        status not in BROKER_FAILURES or created < since for status, _, created in latest
    ):
        return False
    message = (
        f"{bot.name}: {len(latest)} consecutive orders rejected or never placed within {window} s "
        f"(last: {latest[0][1] or 'no reason given'}); bot halted until a trader starts it"
    )
    bot.desired_state = BotState.STOPPED
    bot.status = BotState.HALTED
    bot.status_reason = f"{CIRCUIT_BREAKER_HALT}: {message}"
    bot.status_changed_at = bot.updated_at = utcnow()
    session.add(bot)
    _cancel(session, bot, broker)
    _event(session, bot.id, "circuit_breaker", "circuit_breaker_errors", message)
    return True
