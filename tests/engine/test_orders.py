"""The single order path: idempotent ids, the kill switch re-read before sending, the risk
hook, refusals on record."""

from decimal import Decimal

import pytest
from sqlmodel import func, select

from botdesk.db import kill_switch
from botdesk.db.models import Order, RiskEvent, Role, Signal
from botdesk.engine.brokers.base import MarketContext
from botdesk.engine.ledger import open_position
from botdesk.engine.orders import OrderRefused, OrderRequest, submit
from botdesk.engine.risk import RiskContext, RiskDecision, check_risk
from tests.engine.driving import runtime_for
from tests.engine.test_ledger import AT
from tests.factories import make_bot

D = Decimal
MARKET = MarketContext(symbol="BTCUSDT", at=AT, last_price=D("68000"))


def _submit(db, runtime, bot, **fields):
    with db.writing() as session:
        request = OrderRequest(bot=session.get(type(bot), bot.id), **fields)
        return submit(session, request, broker=runtime.brokers.get("paper"), market=MARKET)


def _buy(cid: str, quantity: str = "0.1", **extra) -> dict:
    return dict(
        side="buy",
        quantity=D(quantity),
        purpose="entry",
        client_order_id=cid,
        reference_price=D("68000"),
        immediate=True,
        **extra,
    )


def test_an_order_id_already_used_returns_the_first_order(db):
    runtime = runtime_for(db)
    bot = make_bot(db)
    first = _submit(db, runtime, bot, **_buy("bd-1-s1"))
    again = _submit(db, runtime, bot, **_buy("bd-1-s1", quantity="0.05"))
    assert again.id == first.id
    with db.reading() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 1
        position = open_position(session=session, bot_id=bot.id, symbol="BTCUSDT")
    assert position.quantity == D("0.1")  # filled once, at the latest price
    assert first.average_price == D("68000")


def _engage(db, flatten=False):
    with db.writing() as session:
        kill_switch.engage(
            session=session, by="ops", role=Role.TRADER, reason="test", flatten=flatten
        )


def test_while_the_kill_switch_is_engaged_only_flatten_orders_pass(db):
    runtime = runtime_for(db)
    bot = make_bot(db)
    _submit(db, runtime, bot, **_buy("bd-1-a"))
    with db.writing() as session:
        signal = Signal(
            bot_id=bot.id,
            dedupe_key="tv:1",
            source="webhook",
            symbol="BTCUSDT",
            timeframe="1m",
            side="buy",
        )
        session.add(signal)
    _engage(db)
    refused = pytest.raises(OrderRefused, match="kill switch engaged by ops: test")
    with refused, db.writing() as session:
        row = session.get(Signal, signal.id)
        request = OrderRequest(bot=session.get(type(bot), bot.id), signal=row, **_buy("bd-1-b"))
        try:
            submit(session, request, broker=runtime.brokers.get("paper"), market=MARKET)
        except OrderRefused:
            session.commit()  # the caller keeps the refusal on record
            raise
    flatten = _submit(
        db,
        runtime,
        bot,
        side="sell",
        quantity=D("0.1"),
        purpose="flatten",
        client_order_id="bd-1-k",
        reference_price=D("68000"),
        immediate=True,
        flatten=True,
    )
    assert flatten.status == "filled"
    with db.reading() as session:
        event = session.exec(select(RiskEvent)).one()
        stored = session.get(Signal, signal.id)
        orders = session.exec(select(Order.client_order_id)).all()
    assert (event.kind, event.rule, event.signal_id) == ("refused", "kill_switch", signal.id)
    assert stored.status == "rejected" and "kill switch engaged" in stored.status_reason
    assert sorted(orders) == ["bd-1-a", "bd-1-k"]


def test_the_risk_hook_refuses_short_sales_and_buys_beyond_the_cash(db):
    runtime = runtime_for(db)
    bot = make_bot(db, capital=D("1000"))
    with pytest.raises(OrderRefused, match=r"needs about .* the bot has 1000\.00 cash") as cash:
        _submit(db, runtime, bot, **_buy("bd-1-c", quantity="1"))
    assert cash.value.rule == "cash"
    with pytest.raises(OrderRefused, match="would go short") as short:
        _submit(
            db,
            runtime,
            bot,
            side="sell",
            quantity=D("0.01"),
            purpose="exit",
            client_order_id="bd-1-d",
            reference_price=D("68000"),
        )
    assert short.value.rule == "long_only"


def test_check_risk_on_its_own():
    base = dict(
        session=None,
        bot=None,
        symbol="BTCUSDT",
        order_type="market",
        purpose="entry",
        price=D("100"),
        cash=D("1000"),
        position_quantity=D("2"),
        pending_sell_quantity=D("0.5"),
        fee_rate=D("0.001"),
    )
    assert check_risk(RiskContext(side="buy", quantity=D("9.9"), **base)) == RiskDecision.allow()
    assert check_risk(RiskContext(side="buy", quantity=D("10"), **base)).rule == "cash"
    assert check_risk(RiskContext(side="sell", quantity=D("1.5"), **base)).allowed
    assert (
        check_risk(RiskContext(side="sell", quantity=D("1.50000001"), **base)).rule == "long_only"
    )
    assert check_risk(RiskContext(side="buy", quantity=D("0"), **base)).rule == "quantity"
    assert check_risk(RiskContext(side="buy", quantity=D("0.000000001"), **base)).rule == "quantity"
