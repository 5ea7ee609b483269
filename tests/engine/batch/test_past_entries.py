"""The entry checks of a candle batch take each bot's past entries from one read for all
the bots that may enter (`risk.entries`): the cooldown (its last entry fill, in market
time) and the order rate (its entries in the last minute, wall clock) refuse as they do
when each bot reads its own, and no entry check reads them again."""

from sqlmodel import col, select

from botdesk.db import risk_limits
from botdesk.db.models import Bot, BotState, RiskEvent, Signal, SignalStatus
from botdesk.engine.batch.memory import CandleMemory
from botdesk.engine.frames import BUY, SELL
from tests.engine.batch.test_acting_reads import run_candle
from tests.engine.test_breaches import candle
from tests.factories import make_bot

MINUTE = 600


def test_cooldown_and_order_rate_refuse_from_the_batchs_read(db):
    with db.writing() as session:
        risk_limits.seed_defaults(session=session)
        risk_limits.set_limit(
            session=session, kind="cooldown_seconds", value="600", bot_id=None, by="t"
        )
    cooled = [make_bot(db, name=f"c{n}", state=BotState.RUNNING) for n in range(2)]
    rated = make_bot(db, name="r", state=BotState.RUNNING)
    with db.writing() as session:  # this one has no cooldown, and one entry a minute
        risk_limits.set_limit(
            session=session, kind="cooldown_seconds", value="0", bot_id=rated.id, by="t"
        )
        risk_limits.set_limit(
            session=session, kind="max_orders_per_minute", value="1", bot_id=rated.id, by="t"
        )
    bots = [*cooled, rated]
    memory = CandleMemory()
    run_candle(db, bots, MINUTE, memory, BUY)  # market buys, filled at the next candle's open
    run_candle(db, bots, MINUTE + 1, memory, None)
    run_candle(db, bots, MINUTE + 2, memory, SELL)
    run_candle(db, bots, MINUTE + 3, memory, None)  # flat again
    seen = run_candle(db, bots, MINUTE + 4, memory, BUY)

    with db.reading() as session:
        refused = {
            event.bot_id: (event.rule, event.message)
            for event in session.exec(select(RiskEvent).where(RiskEvent.kind == "refused"))
        }
        latest = session.exec(
            select(Signal).where(
                Signal.candle_open_ms == candle(MINUTE + 4, 0, 0, 0, 0).open_time_ms
            )
        ).all()
        assert {row.status for row in latest} == {SignalStatus.REJECTED}
        ids = session.exec(select(Bot.id).order_by(col(Bot.id))).all()
    for bot in cooled:  # filled at MINUTE + 1's open, checked at MINUTE + 4's close
        assert refused[bot.id] == (
            "cooldown_seconds",
            "the last entry filled 240 s ago; the cooldown between entries is 600 s",
        )
    assert refused[rated.id] == (
        "max_orders_per_minute",
        "1 entries in the last minute; the limit is 1 a minute",
    )
    assert sorted(refused) == ids
    # one read of the past entries for the three bots, none per bot
    assert seen.count("max(fill.filled_at)") == 1, seen.sent
    assert seen.count("max(fill.filled_at)", "fill.bot_id = ?") == 0
    assert seen.count('FROM "order" WHERE "order".bot_id = ? AND "order".side = ?') == 0
    assert seen.count('"order".side = ?', '"order".created_at >') == 1
