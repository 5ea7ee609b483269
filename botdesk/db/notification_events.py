"""Builders of the events botdesk announces: each takes the rows its caller already holds
and returns an `Event` (kind, severity, a title and a body a person reads on a phone, a
JSON payload for webhooks, a dedupe key). Callers write it with `notifications.emit` in the
transaction of what it reports; the builders themselves read nothing."""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from botdesk.db.models import Bot, Fill, Order, RiskEvent, Signal, User
from botdesk.db.notifications import Event


def _money(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")


def _bot(bot: Bot | None, bot_id: int | None = None) -> str:
    if bot is not None:
        return f"{bot.name} ({bot.symbol} {bot.timeframe})"
    return f"bot {bot_id}" if bot_id is not None else "the desk"


def kill_switch_engaged(
    *, command_id: int, by: str, reason: str, flatten: bool, outcome: str, ok: bool
) -> Event:
    mode = "halt and flatten" if flatten else "halt"
    title = f"Kill switch ENGAGED by {by}"
    body = f"Reason: {reason}\nMode: {mode}\nEngine: {outcome}"
    if not ok:
        body += "\nThe engine could not finish the halt: check the desk now."
    return Event(
        kind="kill_switch.engaged",
        severity="critical",
        title=title,
        body=body,
        payload={"by": by, "reason": reason, "flatten": flatten, "outcome": outcome, "ok": ok},
        dedupe_key=f"kill_switch.engaged:{command_id}",
    )


def kill_switch_released(*, command_id: int, by: str, reason: str) -> Event:
    return Event(
        kind="kill_switch.released",
        severity="warning",
        title=f"Kill switch released by {by}",
        body=f"Reason: {reason}\nBots stay stopped until someone starts them.",
        payload={"by": by, "reason": reason},
        dedupe_key=f"kill_switch.released:{command_id}",
    )


def order_filled(*, order: Order, fill: Fill, bot: Bot | None = None) -> Event:
    pnl = f"\nRealized P&L: {_money(fill.realized_pnl)}" if fill.realized_pnl else ""
    return Event(
        kind="order.filled",
        severity="info",
        title=f"Filled: {fill.side} {_money(fill.quantity)} {fill.symbol} @ {_money(fill.price)}",
        body=(
            f"Bot: {_bot(bot, fill.bot_id)}\nOrder: {order.client_order_id} ({order.purpose})"
            f"\nFee: {_money(fill.fee)} {fill.fee_asset}{pnl}"
        ),
        payload={
            "bot_id": fill.bot_id,
            "order_id": order.id,
            "client_order_id": order.client_order_id,
            "side": fill.side,
            "symbol": fill.symbol,
            "quantity": str(fill.quantity),
            "price": str(fill.price),
            "fee": str(fill.fee),
            "realized_pnl": str(fill.realized_pnl),
        },
        dedupe_key=f"order.filled:{order.id}:{fill.trade_id}",
    )


def order_closed_unfilled(*, order: Order, bot: Bot | None = None) -> Event:
    """An order rejected or expired (by the broker, the exchange, or too old to send)."""
    kind = "order.expired" if order.status == "expired" else "order.rejected"
    word = "expired" if kind == "order.expired" else "rejected"
    return Event(
        kind=kind,
        severity="warning",
        title=f"Order {word}: {order.side} {_money(order.quantity)} {order.symbol}",
        body=(
            f"Bot: {_bot(bot, order.bot_id)}\nOrder: {order.client_order_id} ({order.purpose})"
            f"\nWhy: {order.status_reason or 'no reason given'}"
        ),
        payload={
            "bot_id": order.bot_id,
            "order_id": order.id,
            "client_order_id": order.client_order_id,
            "status": order.status,
            "reason": order.status_reason,
        },
        dedupe_key=f"{kind}:{order.id}",
    )


def risk_event(*, event: RiskEvent, bot: Bot | None = None) -> Event | None:
    """A breach or the circuit breaker (refusals are aggregated: `risk_refusals`)."""
    if event.kind == "circuit_breaker":
        kind, title = "risk.circuit_breaker", f"Circuit breaker: {_bot(bot, event.bot_id)}"
    elif event.kind == "breach":
        kind, title = "risk.breach", f"Risk breach ({event.rule}): {_bot(bot, event.bot_id)}"
    else:
        return None
    stamp = event.at.isoformat() if event.at else ""
    return Event(
        kind=kind,
        severity="critical",
        title=title,
        body=event.message,
        payload={"bot_id": event.bot_id, "rule": event.rule, "message": event.message},
        dedupe_key=f"{kind}:{event.bot_id}:{event.rule}:{stamp}",
    )


def model_degraded(*, event: RiskEvent, version: int) -> Event:
    """The ML monitor found the champion degraded (its risk event, at most one a day)."""
    stamp = event.at.date().isoformat() if event.at else ""
    return Event(
        kind="model.degraded",
        severity="warning",
        title=f"ML model {version} degraded",
        body=event.message,
        payload={"model": version, "rule": event.rule, "message": event.message},
        dedupe_key=f"model.degraded:{version}:{stamp}",
    )


def risk_refusals(
    *,
    bot_id: int | None,
    bot: Bot | None,
    rule: str,
    count: int,
    window_start: datetime,
    window_minutes: int,
    last_message: str,
) -> Event:
    """All refusals of one bot by one rule within one window, as one message."""
    return Event(
        kind="risk.refused",
        severity="warning",
        title=f"Risk refused {count} order(s) of {_bot(bot, bot_id)}: {rule}",
        body=(
            f"{count} refusal(s) by the {rule} rule in the {window_minutes} minutes from "
            f"{window_start:%H:%M} UTC.\nLatest: {last_message}"
        ),
        payload={"bot_id": bot_id, "rule": rule, "count": count, "since": window_start},
        dedupe_key=f"risk.refused:{bot_id}:{rule}:{window_start.isoformat()}",
    )


def bot_error(*, bot: Bot, error: str) -> Event:
    stamp = bot.status_changed_at.isoformat() if bot.status_changed_at else ""
    return Event(
        kind="bot.error",
        severity="critical",
        title=f"Bot error: {_bot(bot)}",
        body=f"The bot stopped: {error}",
        payload={"bot_id": bot.id, "error": error},
        dedupe_key=f"bot.error:{bot.id}:{stamp}",
    )


def reconcile_difference(*, bot_id: int | None, message: str, at: datetime) -> Event:
    return Event(
        kind="reconcile.difference",
        severity="critical",
        title="Reconciliation difference with the exchange",
        body=message,
        payload={"bot_id": bot_id, "message": message},
        dedupe_key=f"reconcile.difference:{bot_id}:{at.isoformat()}",
    )


def engine_stale(
    *, last_beat: datetime, age_seconds: float, engine_id: str | None, stopped: bool
) -> Event:
    how = "it was stopped" if stopped else "no heartbeat (killed, hung, or its host is down)"
    return Event(
        kind="engine.stale",
        severity="critical",
        title="Engine heartbeat STALE",
        body=(
            f"The engine {engine_id or ''} last beat at {last_beat:%Y-%m-%d %H:%M:%S} UTC, "
            f"{age_seconds:.0f} s ago: {how}.\nNo bot is trading until an engine runs again."
        ),
        payload={"last_beat": last_beat, "engine_id": engine_id, "stopped": stopped},
        dedupe_key=f"engine.stale:{last_beat.isoformat()}",
    )


def engine_recovered(*, stale_id: int, engine_id: str | None, down_seconds: float) -> Event:
    return Event(
        kind="engine.recovered",
        severity="info",
        title="Engine heartbeat recovered",
        body=f"The engine {engine_id or ''} beats again after about {down_seconds:.0f} s.",
        payload={"engine_id": engine_id, "down_seconds": round(down_seconds, 1)},
        dedupe_key=f"engine.recovered:{stale_id}",
    )


def security_lockout(*, user: User, until: datetime, ip: str | None) -> Event:
    return Event(
        kind="security.lockout",
        severity="warning",
        title=f"Account locked: {user.username}",
        body=f"Too many wrong sign-ins (last from {ip or 'unknown'}); locked until "
        f"{until:%H:%M} UTC.",
        payload={"username": user.username, "until": until, "ip": ip},
        dedupe_key=f"security.lockout:{user.id}:{until.isoformat()}",
    )


def security_new_address(*, username: str, ip: str, at: datetime) -> Event:
    return Event(
        kind="security.new_address",
        severity="warning",
        title=f"Sign-in from a new address: {username}",
        body=f"{username} signed in from {ip}, an address not seen for this user before.",
        payload={"username": username, "ip": ip},
        dedupe_key=f"security.new_address:{username}:{ip}:{at.isoformat()}",
    )


def security_role_changed(*, username: str, old: str, new: str, by: str, at: datetime) -> Event:
    return Event(
        kind="security.role_changed",
        severity="warning",
        title=f"Role changed: {username} {old} -> {new}",
        body=f"{by} changed {username}'s role from {old} to {new}.",
        payload={"username": username, "old": old, "new": new, "by": by},
        dedupe_key=f"security.role_changed:{username}:{at.isoformat()}",
    )


def security_api_key_created(*, owner: str, prefix: str, scope: str, by: str) -> Event:
    return Event(
        kind="security.api_key_created",
        severity="info",
        title=f"API key created for {owner} ({scope})",
        body=f"{by} created the {scope} key {prefix} for {owner}.",
        payload={"owner": owner, "prefix": prefix, "scope": scope, "by": by},
        dedupe_key=f"security.api_key_created:{prefix}",
    )


def daily_summary(
    *,
    day: date,
    pnl_by_bot: Iterable[tuple[str, Decimal, Decimal]],
    positions: Iterable[tuple[str, str, Decimal, Decimal]],
    exposure: Decimal,
    exposure_limit: Decimal | None,
) -> Event:
    """pnl_by_bot: (bot, realized that day, unrealized now); positions: (bot, symbol,
    quantity, value)."""
    pnl_lines = list(pnl_by_bot)
    position_lines = list(positions)
    realized = sum((line[1] for line in pnl_lines), Decimal(0))
    unrealized = sum((line[2] for line in pnl_lines), Decimal(0))
    lines = [f"Total realized {_money(realized)}, unrealized {_money(unrealized)}"]
    lines += [f"- {name}: realized {_money(r)}, unrealized {_money(u)}" for name, r, u in pnl_lines]
    lines.append(f"Open positions: {len(position_lines)}")
    lines += [
        f"- {name} {symbol}: {_money(qty)} worth {_money(value)}"
        for name, symbol, qty, value in position_lines
    ]
    limit = f" of {_money(exposure_limit)} allowed" if exposure_limit else " (no limit set)"
    lines.append(f"Exposure: {_money(exposure)}{limit}")
    return Event(
        kind="summary.daily",
        severity="info",
        title=f"Daily summary {day.isoformat()}: realized {_money(realized)}",
        body="\n".join(lines),
        payload={
            "day": day.isoformat(),
            "realized_pnl": _money(realized),
            "unrealized_pnl": _money(unrealized),
            "bots": [
                {"bot": n, "realized": _money(r), "unrealized": _money(u)} for n, r, u in pnl_lines
            ],
            "open_positions": len(position_lines),
            "exposure": _money(exposure),
            "exposure_limit": _money(exposure_limit) if exposure_limit else None,
        },
        dedupe_key=f"summary.daily:{day.isoformat()}",
    )


def backup_failed(*, error: str, at: datetime) -> Event:
    return Event(
        kind="backup.failed",
        severity="critical",
        title="Scheduled database backup FAILED",
        body=error,
        payload={"error": error},
        dedupe_key=f"backup.failed:{at.isoformat()}",
    )


def test_message(*, channel: str, by: str, at: datetime) -> Event:
    return Event(
        kind="test",
        severity="info",
        title=f"botdesk test message for {channel}",
        body=f"{by} sent this test from botdesk. If you read it, the channel works.",
        payload={"channel": channel, "by": by},
        dedupe_key=f"test:{channel}:{at.isoformat()}",
    )


SIGNAL_EVENT_OF_STATUS = {"new": "signal.created", "accepted": "signal.executed"}


def signal_event(*, signal: Signal, bot: Bot, created: bool = False) -> Event:
    """signal.created (status new), signal.executed (accepted: its order was placed) or
    signal.rejected, for subscribers' webhooks (channels never get these). `created`:
    the signal.created event of a signal whose status has moved on since (announced
    after the fact, with what it was when created)."""
    status = "new" if created else signal.status
    reason = signal.reason if created else signal.status_reason or signal.reason
    kind = SIGNAL_EVENT_OF_STATUS.get(status, "signal.rejected")
    return Event(
        kind=kind,
        severity="info",
        title=f"{kind}: {signal.side} {signal.symbol} ({bot.name})",
        body=reason or "",
        payload={
            "signal_id": signal.id,
            "bot_id": bot.id,
            "bot": bot.name,
            "strategy": bot.strategy,
            "symbol": signal.symbol,
            "timeframe": signal.timeframe,
            "side": signal.side,
            "confidence": signal.confidence,
            "price": _money(signal.price) if signal.price is not None else None,
            "stop": _money(signal.stop) if signal.stop is not None else None,
            "take_profit": _money(signal.take_profit) if signal.take_profit is not None else None,
            "status": status,
            "reason": reason,
            "candle_open_ms": signal.candle_open_ms,
            "source": signal.source,
        },
        dedupe_key=f"{kind}:{signal.id}",
    )
