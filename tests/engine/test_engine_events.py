"""The engine's events reach the outbox in the transaction of what they report, through
the live order path on a real database: a signal and its fill, rejected orders and the
circuit breaker they trip, a daily-loss breach, a bot's error, the refusals the watchdog
aggregates."""

import json

from sqlmodel import col, select

from botdesk.db.models import Bot, Notification
from botdesk.engine.frames import BUY
from botdesk.engine.runner import set_error
from tests.engine.test_breaches import D, _rejected_buy, candle, running_bot, state, step
from tests.engine.test_risk import limit
from tests.factories import make_position


def announced(db, prefix: str = "") -> list[Notification]:
    with db.reading() as session:
        rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
    return [row for row in rows if row.kind.startswith(prefix)]


def test_a_signal_its_order_and_its_fill_are_announced(db):
    bot = running_bot(db, name="announcer")
    step(db, bot, candle(600, 100, 100, 100, 100), side=BUY)  # the buy on the close
    step(db, bot, candle(601, 100, 101, 99, 100))  # fills at the next open
    kinds = [row.kind for row in announced(db)]
    assert kinds == ["signal.created", "signal.executed", "order.filled"], kinds
    created, executed, filled = announced(db)
    assert json.loads(created.payload)["symbol"] == bot.symbol
    assert json.loads(executed.payload)["status"] == "accepted"
    payload = json.loads(filled.payload)
    assert (payload["side"], D(payload["price"]), payload["bot_id"]) == ("buy", D("100"), bot.id)
    assert filled.title.startswith("Filled: buy ") and "announcer" in filled.body


def test_rejected_orders_and_the_circuit_breaker_are_announced(db):
    bot = running_bot(db)
    limit(db, "circuit_breaker_errors", "2")
    limit(db, "circuit_breaker_window_seconds", "300")
    for _ in range(2):
        _rejected_buy(db, bot)
    assert state(db, bot)[1] == "halted"
    rejected = announced(db, "order.rejected")
    assert len(rejected) == 2 and "no price known yet" in rejected[0].body
    (breaker,) = announced(db, "risk.circuit_breaker")
    assert breaker.severity == "critical" and "halted by the circuit breaker" not in breaker.title


def test_a_daily_loss_breach_is_announced_once(db):
    bot = running_bot(db)
    make_position(
        db, bot, quantity=D("10"), cost_basis=D("1000"), entry_price=D("100"), stop_price=D("80")
    )
    limit(db, "daily_loss_limit", "100", bot)
    step(db, bot, candle(601, 91, 91, 88, 89))  # down 110: paused
    step(db, bot, candle(602, 89, 90, 87, 88))  # still paused: no second breach
    (breach,) = announced(db, "risk.breach")
    assert breach.severity == "critical" and "lost 110.00 USDT" in breach.body


def test_a_bot_error_is_announced_with_the_error(db):
    bot = running_bot(db, name="fragile")
    with db.writing() as session:
        set_error(session, bot.id, "invalid strategy settings: fast must be < slow")
    (error,) = announced(db, "bot.error")
    assert error.title == "Bot error: fragile (BTCUSDT 1m)"
    assert "fast must be < slow" in error.body
    with db.reading() as session:
        assert session.get(Bot, bot.id).status == "error"
