"""Signals from outside the strategies: a TradingView alert becomes a signal and a command.

The signal is written `new` with the dedupe key `tv:<alert id>`, and a `signal.execute`
command asks the engine to take it through the same risk checks as a strategy's signal.
The (bot, dedupe key) pair is unique, so an alert repeated by TradingView does nothing twice.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, select

from botdesk.db import commands
from botdesk.db.models import Bot, Command, Side, Signal, SignalStatus

ALERT_ACTIONS = ("buy", "sell", "close")


@dataclass(frozen=True)
class Alert:
    """A validated alert: the webhook route checks the payload before it gets here."""

    alert_id: str
    action: str  # buy | sell | close (a close is a sell: spot bots are long-only)
    price: Decimal
    stop: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(frozen=True)
class AlertOutcome:
    signal: Signal
    command: Command | None  # None when the alert was a repeat
    duplicate: bool


def dedupe_key(alert_id: str) -> str:
    return f"tv:{alert_id}"


def by_dedupe_key(*, session: Session, bot_id: int, key: str) -> Signal | None:
    query = select(Signal).where(Signal.bot_id == bot_id, Signal.dedupe_key == key)
    return session.exec(query).first()


def record_alert(
    *, session: Session, bot: Bot, alert: Alert, ip: str | None = None
) -> AlertOutcome:
    """Write the alert's signal and its `signal.execute` command, unless already recorded."""
    key = dedupe_key(alert.alert_id)
    existing = by_dedupe_key(session=session, bot_id=bot.id, key=key)
    if existing is not None:
        return AlertOutcome(signal=existing, command=None, duplicate=True)
    reason = f"TradingView alert {alert.alert_id}: {alert.action}"
    signal = Signal(
        bot_id=bot.id,
        dedupe_key=key,
        source="webhook",
        symbol=bot.symbol,
        timeframe=bot.timeframe,
        side=Side.BUY if alert.action == "buy" else Side.SELL,
        price=alert.price,
        stop=alert.stop,
        take_profit=alert.take_profit,
        reason=reason,
        status=SignalStatus.NEW,
    )
    session.add(signal)
    session.flush()  # a concurrent repeat fails here on the unique (bot, dedupe key)
    command = commands.issue(
        session=session,
        kind="signal.execute",
        issued_by=f"webhook:bot:{bot.id}",
        via="webhook",
        target=f"signal:{signal.id}",
        params={"action": alert.action, "alert_id": alert.alert_id},
        reason=reason,
        ip=ip,
    )
    return AlertOutcome(signal=signal, command=command, duplicate=False)
