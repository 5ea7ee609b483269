"""Manual orders in a real engine run (the engine's own runner and command consumer,
in-process, on real candles and a real database): a forced limit entry with a stop, half
of it sold, the stop moved to breakeven and hit, every figure computed by hand; market
entries sized by quote, quantity and the bot's risk; a resting limit exit; a cancel; and
the order path's refusals (kill switch, dead man's switch, a paused bot)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlmodel import col, select

import botdesk.engine.handlers  # noqa: F401  (registers the handlers)
from botdesk.db import kill_switch, manual_orders
from botdesk.db.manual_orders import Issuer
from botdesk.db.models import (
    Bot,
    BotState,
    Command,
    Fill,
    Order,
    Position,
    RiskEvent,
    RiskLimit,
    Role,
    Signal,
)
from botdesk.db.trades import trades_of
from botdesk.engine import commands
from botdesk.engine.accounts import recompute
from botdesk.engine.brokers import BROKERS, register
from botdesk.engine.brokers.paper import PaperBroker
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.heartbeat import Heartbeat
from botdesk.engine.orders import command_order_id
from botdesk.engine.risk import deadman
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import Strategy
from tests.engine.driving import Driver, runtime_for, sample
from tests.factories import make_bot

D = Decimal
ALICE = Issuer(by="alice", role=Role.TRADER)
BTC = sample("BTCUSDT")[:700]


class Quiet(Strategy):
    """Never signals: every order in these tests is the operator's."""

    name = "quiet"
    title = "Quiet"

    @property
    def lookback(self) -> int:
        return 1

    def signals(self, candles: CandleFrame) -> SignalFrame:
        none = np.zeros(len(candles), dtype=bool)
        return SignalFrame.build(len(candles), buy=none, sell=none, confidence=0)


@pytest.fixture
def market(db):
    """A running quiet bot on BTCUSDT after 600 real 1m candles (the last closed at
    68,574.00), fee 0.1 %, no slippage."""
    registry.register(Quiet)
    runtime = runtime_for(db, fee_rate="0.001", slippage_bps="0")
    bot = make_bot(db, name="manual", strategy="quiet", params={"stop_atr": 0}, state="running")
    driver = Driver(runtime, {"BTCUSDT": BTC})
    yield runtime, driver, bot
    registry.STRATEGIES.pop("quiet", None)


def queue(db, action, **fields) -> int:
    with db.writing() as session:
        return action(session=session, issuer=ALICE, reason="operator's call", **fields).id


def run(runtime, command_id: int) -> Command:
    commands.consume(runtime)
    with runtime.db.reading() as session:
        return session.get(Command, command_id)


def rows(db, model, *where):
    with db.reading() as session:
        return list(session.exec(select(model).where(*where).order_by(col(model.id))).all())


def the_position(db, bot) -> Position:
    [position] = rows(db, Position, Position.bot_id == bot.id)
    return position


def test_limit_entry_with_stop_half_sold_stop_to_breakeven(db, market):
    runtime, driver, bot = market
    entry = run(
        runtime,
        queue(
            db,
            manual_orders.force_entry,
            bot_id=bot.id,
            type="limit",
            price="68550",
            size="quantity",
            amount="0.02",
            stop="68400",
        ),
    )
    assert entry.status == "done", entry.result
    [order] = rows(db, Order, Order.bot_id == bot.id)
    assert (order.status, order.type, order.price, order.purpose) == (
        "open",
        "limit",
        D("68550"),
        "manual_entry",
    )
    assert order.client_order_id == command_order_id(bot.id, entry.id)
    assert order.client_order_id == manual_orders.manual_order_id(bot.id, entry.id)
    [signal] = rows(db, Signal, Signal.bot_id == bot.id)
    assert (signal.source, signal.status, signal.stop) == ("manual", "accepted", D("68400"))

    # candle 600: open 68,573.99, low 68,548.00: the buy limit at 68,550 fills at its level
    driver.step()
    position = the_position(db, bot)
    assert (position.quantity, position.cost_basis, position.entry_price) == (
        D("0.02"),
        D("1371.00"),  # 0.02 x 68,550
        D("68550"),
    )
    assert position.stop_price == D("68400")  # the entry's stop, taken when it filled
    assert position.fees == D("1.371") and position.realized_pnl == D("-1.371")

    # half of it at market now: at the last close, 68,560.74
    half = run(
        runtime, queue(db, manual_orders.exit_position, position_id=position.id, percent="50")
    )
    assert half.status == "done", half.result
    assert "part of it (0.01) sold" in half.result
    position = the_position(db, bot)
    [sold] = rows(db, Fill, Fill.bot_id == bot.id, Fill.side == "sell")
    assert (sold.quantity, sold.price, sold.fee) == (D("0.01"), D("68560.74"), D("0.6856074"))
    # 685.6074 received - 685.50 of cost (half of 1,371.00) - 0.6856074 fee
    assert sold.realized_pnl == D("-0.5782074")
    assert (position.status, position.quantity, position.cost_basis) == (
        "open",
        D("0.01"),
        D("685.50"),
    )
    assert position.entry_price == D("68550")
    assert position.realized_pnl == D("-1.9492074")  # -1.371 - 0.5782074
    assert position.fees == D("2.0566074")

    # the stop moved to breakeven (the entry price), through the engine
    moved = run(
        runtime,
        queue(
            db, manual_orders.change_protection, position_id=position.id, changes={"stop": "68550"}
        ),
    )
    assert moved.status == "done", moved.result
    assert "stop 68,400.00 USDT -> 68,550.00 USDT" in moved.result
    assert the_position(db, bot).stop_price == D("68550")

    # candles 601 to 662 stay above 68,550; 663 (open 68,612.80, low 68,530.70) hits it
    driver.step(62)
    assert the_position(db, bot).status == "open"
    driver.step()
    closed = the_position(db, bot)
    assert (closed.status, closed.exit_reason, closed.quantity) == ("closed", "stop_loss", 0)
    last = rows(db, Fill, Fill.bot_id == bot.id)[-1]
    assert (last.price, last.fee) == (D("68550"), D("0.6855"))
    assert last.realized_pnl == D("-0.6855")  # sold at its cost: the fee is the loss
    assert closed.realized_pnl == D("-2.6347074")  # -1.371 - 0.5782074 - 0.6855
    fills = rows(db, Fill, Fill.bot_id == bot.id)
    assert sum(fill.realized_pnl for fill in fills) == closed.realized_pnl
    with db.reading() as session:
        books = recompute(session=session, bot=session.get(Bot, bot.id))
    assert books.realized_pnl == D("-2.6347074")
    # the Trades page's round trip: the manual entry, the operator's half, the stop
    with db.reading() as session:
        [trade] = trades_of(session=session, positions=[closed])
    assert (trade.quantity, trade.entry_price, trade.pnl) == (
        D("0.02"),
        D("68550"),
        D("-2.6347074"),
    )
    assert trade.entry_signal == "manual entry by alice: operator's call"
    assert [(e.reason, e.quantity, e.price, e.pnl, e.note) for e in trade.exits] == [
        ("close", D("0.01"), D("68560.74"), D("-0.5782074"), "operator's call"),
        ("stop_loss", D("0.01"), D("68550"), D("-0.6855"), None),
    ]


def test_market_entries_by_quote_quantity_and_risk(db, market):
    runtime, _driver, bot = market
    by_quote = run(
        runtime,
        queue(
            db,
            manual_orders.force_entry,
            bot_id=bot.id,
            size="quote",
            amount="1000",
            take_profit="70000",
        ),
    )
    assert by_quote.status == "done", by_quote.result
    position = the_position(db, bot)
    # 1,000 / 68,574.00 rounded down to 8 places, filled at once at the last close
    assert position.quantity == D("0.01458278")
    assert position.cost_basis == D("999.99955572")  # 0.01458278 x 68,574
    assert (position.take_profit, position.stop_price) == (D("70000"), None)
    by_quantity = run(
        runtime,
        queue(db, manual_orders.force_entry, bot_id=bot.id, size="quantity", amount="0.001"),
    )
    assert by_quantity.status == "done"
    assert the_position(db, bot).quantity == D("0.01558278")  # added to the position
    with db.writing() as session:  # the bot's own risk sizing: 1 % of 10,000 at risk
        session.add(RiskLimit(bot_id=None, kind="risk_per_trade", value=D("1"), updated_by="t"))
    by_risk = run(
        runtime,
        queue(db, manual_orders.force_entry, bot_id=bot.id, size="risk", stop="67574"),
    )
    assert by_risk.status == "done", by_risk.result
    # 10,000 x 1 % / (68,574 - 67,574) = 0.1 BTC
    assert the_position(db, bot).quantity == D("0.11558278")


def test_resting_limit_exit_cancel_and_reruns(db, market):
    runtime, driver, bot = market
    run(
        runtime, queue(db, manual_orders.force_entry, bot_id=bot.id, size="quantity", amount="0.02")
    )
    position = the_position(db, bot)
    assert position.entry_price == D("68574")  # at once, at the last close
    far = run(
        runtime,
        queue(
            db,
            manual_orders.force_entry,
            bot_id=bot.id,
            type="limit",
            price="60000",
            size="quantity",
            amount="0.01",
        ),
    )
    [far_order] = rows(db, Order, Order.client_order_id == command_order_id(bot.id, far.id))
    sell = run(
        runtime,
        queue(
            db,
            manual_orders.exit_position,
            position_id=position.id,
            quantity="0.005",
            type="limit",
            price="68620",
        ),
    )
    assert sell.status == "done" and "on sale" in sell.result
    cancelled = run(runtime, queue(db, manual_orders.cancel_order, order_id=far_order.id))
    assert cancelled.status == "done" and "cancelled" in cancelled.result
    assert rows(db, Order, Order.id == far_order.id)[0].status == "cancelled"
    with pytest.raises(manual_orders.ManualOrderRefused, match="is cancelled") as refusal:
        queue(db, manual_orders.cancel_order, order_id=far_order.id)
    assert refusal.value.status == 409
    # 600 to 602 stay below 68,620; 603 (high 68,621.98) trades through it
    driver.step(3)
    assert the_position(db, bot).quantity == D("0.02")
    driver.step()
    position = the_position(db, bot)
    sold = rows(db, Fill, Fill.bot_id == bot.id, Fill.side == "sell")[-1]
    assert (sold.quantity, sold.price) == (D("0.005"), D("68620"))
    # 343.10 received - 342.87 of cost (a quarter of 1,371.48) - 0.3431 fee
    assert sold.realized_pnl == D("-0.1131")
    assert (position.quantity, position.cost_basis) == (D("0.015"), D("1028.61"))
    # a re-run after an engine restart sends nothing twice
    with db.writing() as session:
        command = session.get(Command, sell.id)
        command.status, command.finished_at = "running", None
    commands.resume_interrupted(runtime, None)
    assert len(rows(db, Order, Order.purpose == "close")) == 1
    assert "is filled" in rows(db, Command, Command.id == sell.id)[0].result


def test_the_kill_switch_refuses_manual_orders_in_the_order_path(db, market):
    runtime, _driver, bot = market
    run(
        runtime, queue(db, manual_orders.force_entry, bot_id=bot.id, size="quantity", amount="0.02")
    )
    position = the_position(db, bot)
    with db.writing() as session:
        engaged = kill_switch.engage(session=session, by="ops", role=Role.TRADER, reason="incident")
    assert run(runtime, engaged.id).status == "done"
    with pytest.raises(manual_orders.ManualOrderRefused, match="kill switch is engaged"):
        queue(db, manual_orders.force_entry, bot_id=bot.id, size="quantity", amount="0.01")
    # an exit is queued, and the order path refuses it while the switch is engaged
    refused = run(runtime, queue(db, manual_orders.exit_position, position_id=position.id))
    assert refused.status == "failed"
    assert refused.result == "close refused: kill switch engaged by ops: incident"
    assert [e.rule for e in rows(db, RiskEvent, RiskEvent.bot_id == bot.id)] == ["kill_switch"]
    assert the_position(db, bot).quantity == D("0.02")
    assert len(rows(db, Order, Order.bot_id == bot.id)) == 1


def test_dead_mans_switch_and_a_paused_bot_refuse_entries(db, market):
    runtime, _driver, bot = market
    heartbeat = Heartbeat(runtime)
    deadman.arm(heartbeat, 0.0)  # any silence at all is too long
    try:
        blocked = run(
            runtime,
            queue(db, manual_orders.force_entry, bot_id=bot.id, size="quantity", amount="0.01"),
        )
    finally:
        deadman.disarm()
    assert blocked.status == "failed" and "dead man's switch" in blocked.result
    [event] = rows(db, RiskEvent, RiskEvent.bot_id == bot.id)
    assert event.rule == "dead_mans_switch"
    assert rows(db, Order, Order.bot_id == bot.id) == []
    with db.writing() as session:
        paused = session.get(Bot, bot.id)
        paused.desired_state = paused.status = BotState.PAUSED
    with pytest.raises(manual_orders.ManualOrderRefused, match="paused"):
        queue(db, manual_orders.force_entry, bot_id=bot.id, size="quantity", amount="0.01")


class Recorded(PaperBroker):
    """The paper broker, noting what the order path asks of an exchange's protection."""

    name = "recorded"
    asked: list[tuple[str, int]] = []

    def protection_changed(self, session, position, market):
        Recorded.asked.append(("changed", position.id))

    def release_protection(self, session, position):
        Recorded.asked.append(("released", position.id))


def test_every_exit_releases_the_venues_protection_first(db, market):
    runtime, driver, _bot = market
    register("recorded", lambda settings: Recorded(fee_rate=settings.FEE_RATE))
    Recorded.asked = []
    try:
        bot = make_bot(db, strategy="quiet", params={"stop_atr": 0}, state="running")
        with db.writing() as session:
            session.get(Bot, bot.id).broker = "recorded"
        bought = queue(db, manual_orders.force_entry, bot_id=bot.id, size="quantity", amount="0.02")
        assert run(runtime, bought).status == "done"
        position = the_position(db, bot)
        assert Recorded.asked == []  # an entry holds nothing to release
        moved = queue(
            db, manual_orders.change_protection, position_id=position.id, changes={"stop": "68560"}
        )
        assert run(runtime, moved).status == "done"
        assert Recorded.asked == [("changed", position.id)]
        half = queue(db, manual_orders.exit_position, position_id=position.id, percent="50")
        assert run(runtime, half).status == "done"
        assert Recorded.asked[-1] == ("released", position.id)
        deadman.arm(Heartbeat(runtime), 0.0)  # the order path refuses every order now
        try:
            refused = run(runtime, queue(db, manual_orders.exit_position, position_id=position.id))
        finally:
            deadman.disarm()
        assert refused.status == "failed" and "dead man's switch" in refused.result
        assert len(Recorded.asked) == 2  # a refused exit releases nothing
        # the runner starts the new bot's cursor at candle 600 and trades it from 601 on
        # (low 68,552, under the stop): the watch sells the rest
        driver.step()
        driver.step()
        assert the_position(db, bot).exit_reason == "stop_loss"
        assert Recorded.asked == [
            ("changed", position.id),
            ("released", position.id),
            ("released", position.id),
        ]
    finally:
        BROKERS.pop("recorded", None)


def test_a_good_till_time_entry_expires_unfilled(db, market):
    runtime, driver, bot = market
    newest = datetime.fromtimestamp(int(BTC.open_time_ms[599]) / 1000, UTC)
    until = newest + timedelta(minutes=2)  # candle 601 opens then; 602 opens after it
    entry = queue(
        db,
        manual_orders.force_entry,
        bot_id=bot.id,
        type="limit",
        price="60000",
        size="quantity",
        amount="0.01",
        time_in_force="GTD",
        expires_at=until,
    )
    done = run(runtime, entry)
    assert done.status == "done" and "good till" in done.result
    [order] = rows(db, Order, Order.bot_id == bot.id)
    assert (order.time_in_force, order.expires_at) == ("gtd", until)
    driver.step(2)
    assert rows(db, Order, Order.id == order.id)[0].status == "open"
    driver.step()
    expired = rows(db, Order, Order.id == order.id)[0]
    assert expired.status == "expired" and expired.filled_quantity == 0
    with pytest.raises(manual_orders.ManualOrderRefused, match="not after the market's time"):
        queue(
            db,
            manual_orders.force_entry,
            bot_id=bot.id,
            type="limit",
            price="60000",
            size="quantity",
            amount="0.01",
            time_in_force="GTD",
            expires_at=until,
        )
