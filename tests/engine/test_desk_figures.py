"""The desk-wide limits in a candle batch (`botdesk.engine.risk.desk`): the batch reads the
desk's exposure, open positions and P&L once, and every bot's change moves them, so an
entry later in the batch sees what earlier bots did in the same candle exactly as the
per-bot path, which reads the database, would."""

from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db.models import Bot, Order, OrderStatus, OrderType, Position, RiskEvent, Side, Signal
from botdesk.engine.batch.candle import BatchItem, process_batch
from botdesk.engine.batch.memory import CandleMemory
from botdesk.engine.frames import BUY
from botdesk.engine.trading import process_candle
from tests.engine.driving import runtime_for
from tests.engine.test_breaches import DAY_MS, candle, signal
from tests.engine.test_risk import limit
from tests.factories import make_bot, make_position

D = Decimal
MINUTE = 600


def _resting_buy(db, bot: Bot, quantity: str) -> None:
    """A market buy decided on the previous candle: it fills at this candle's open."""
    with db.writing() as session:
        session.add(
            Order(
                bot_id=bot.id,
                client_order_id=f"resting-{bot.id}",
                broker="paper",
                symbol=bot.symbol,
                side=Side.BUY,
                type=OrderType.MARKET,
                quantity=D(quantity),
                status=OrderStatus.OPEN,
                purpose="entry",
                candle_open_ms=DAY_MS + (MINUTE - 1) * 60_000,
            )
        )


def _run(db, bots: list[Bot], signals: dict[int, int], batched: bool) -> None:
    broker = runtime_for(db).brokers.get("paper")
    prices = candle(MINUTE, 100, 100, 100, 100)
    with db.writing() as session:
        rows = [session.get(Bot, bot.id) for bot in bots]
        if batched:
            items = [
                BatchItem(bot=row, signal=signal(signals[row.id]) if row.id in signals else None,
                          broker=broker)
                for row in rows
            ]  # fmt: skip
            process_batch(
                session, items=items, candle=prices, timeframe="1m", memory=CandleMemory()
            )
            return
    for row in rows:  # the per-bot path: one transaction per bot, in id order
        with db.writing() as session:
            process_candle(
                session,
                bot=session.get(Bot, row.id),
                candle=prices,
                timeframe="1m",
                signal=signal(signals[row.id]) if row.id in signals else None,
                broker=broker,
            )


def _outcome(db, bot: Bot) -> tuple:
    with db.reading() as session:
        row = session.exec(select(Signal).where(Signal.bot_id == bot.id)).one()
        refusals = session.exec(
            select(RiskEvent.rule)
            .where(RiskEvent.bot_id == bot.id, RiskEvent.kind == "refused")
            .order_by(col(RiskEvent.id))
        ).all()
        return row.status, list(refusals), row.status_reason


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("max_open_positions", "1", "the desk already holds 1 open position(s); the limit is 1"),
        ("max_total_exposure", "10500", "the desk's exposure would reach 10940.06 USDT"),
    ],
)
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "per-bot"])
def test_a_fill_earlier_in_the_batch_counts_toward_the_desk_wide_limit(
    db, kind, value, reason, batched
):
    # the first bot's resting buy fills at this candle's open: its position opens in the
    # batch; the second bot's entry, later in the same batch, must see it
    first = make_bot(db, name="first", state="running")
    second = make_bot(db, name="second", state="running")
    limit(db, kind, value)
    _resting_buy(db, first, "10")  # 1000 USDT at 100 (the second alone would buy 9940.06)
    _run(db, [first, second], {second.id: BUY}, batched)
    with db.reading() as session:
        opened = session.exec(select(Position).where(Position.bot_id == first.id)).one()
    assert opened.quantity == D("10")
    status, refusals, why = _outcome(db, second)
    assert (status, refusals) == ("rejected", [kind])
    assert reason in why, why


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "per-bot"])
def test_an_exit_earlier_in_the_batch_frees_the_desk_wide_limit(db, batched):
    # the first bot's stop is touched on this candle: its position closes in the batch, so
    # the second bot's entry fits under a desk limit of one open position
    first = make_bot(db, name="first", state="running")
    second = make_bot(db, name="second", state="running")
    make_position(
        db, first, quantity=D("1"), cost_basis=D("110"), entry_price=D("110"), stop_price=D("105")
    )
    limit(db, "max_open_positions", "1")
    _run(db, [first, second], {second.id: BUY}, batched)
    status, refusals, _ = _outcome(db, second)
    assert (status, refusals) == ("accepted", [])
