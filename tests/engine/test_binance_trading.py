"""A bot trades on the fake Binance through the real python-binance client, end to end:
orders carry our client order ids, fills are booked as Binance reports them, and with
20% of the requests failing (timeouts, 5xx, 429, -1021) no order is placed twice and
reconciliation leaves none in an unknown state."""

from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db.models import Fill, OrderStatus, RiskEvent
from botdesk.engine.ledger import open_position
from tests.engine.binance_setup import BinanceDesk, binance_account, binance_bot, fake_binance
from tests.fake_binance import Fault

pytestmark = pytest.mark.integration

UNSETTLED = (OrderStatus.NEW, OrderStatus.UNKNOWN)


@pytest.fixture
def fake():
    with fake_binance() as server:
        yield server


def fills_by_order(db) -> dict[int, list[Fill]]:
    with db.reading() as session:
        fills = session.exec(select(Fill)).all()
    grouped: dict[int, list[Fill]] = {}
    for fill in fills:
        grouped.setdefault(fill.order_id, []).append(fill)
    return grouped


def assert_books_match_binance(desk: BinanceDesk) -> None:
    """Every order sent exists once on Binance, in the same state, with the same trades."""
    fills = fills_by_order(desk.db)
    sent = [o for o in desk.orders() if o.purpose != "dust" and o.exchange_order_id]
    assert sent
    for order in desk.orders():
        assert order.status not in UNSETTLED, (order.client_order_id, order.status_reason)
        placed = desk.fake.orders_with_client_id(order.client_order_id)
        assert len(placed) <= 1, f"{order.client_order_id} placed {len(placed)} times"
        if order.purpose == "dust":
            continue
        if not placed:
            assert order.exchange_order_id is None
            continue
        (on_binance,) = placed
        assert order.exchange_order_id == str(on_binance.order_id)
        traded = {str(t.id): t for t in on_binance.trades}
        booked = {f.trade_id: f for f in fills.get(order.id, [])}
        assert set(booked) == set(traded)
        for trade_id, fill in booked.items():
            assert fill.price == traded[trade_id].price
        expected = {"FILLED": "filled", "CANCELED": "cancelled", "NEW": "open"}
        assert order.status == expected[on_binance.status]
    client_ids = {o.client_order_id for o in desk.orders()}
    for placed in desk.fake.exchange.orders:
        assert placed.client_order_id in client_ids


def test_a_bot_trades_through_binance_and_its_books_match(db, fake):
    account_id = binance_account(db, fake)
    bot = binance_bot(db, account_id)
    desk = BinanceDesk(db, fake)
    for _ in range(150):
        desk.minute()
    desk.reconcile()

    orders = desk.orders()
    filled = [o for o in orders if o.status == OrderStatus.FILLED and o.purpose != "dust"]
    assert len(filled) >= 4
    assert {o.side for o in filled} == {"buy", "sell"}
    assert all(o.client_order_id.startswith(f"bd-{bot.id}-") for o in orders)
    assert_books_match_binance(desk)
    # the account's BTC is what the books say the bot holds (no more than dust apart)
    with db.reading() as session:
        events = session.exec(select(RiskEvent)).all()
    assert [e.message for e in events if e.rule == "balance_mismatch"] == []
    assert_holdings_match(desk, bot)


def assert_holdings_match(desk: BinanceDesk, bot) -> None:
    """The account's BTC is exactly the bot's open position plus the dust written off."""
    with desk.db.reading() as session:
        position = open_position(session=session, bot_id=bot.id, symbol="BTCUSDT")
    dust = sum((o.quantity for o in desk.orders() if o.purpose == "dust"), Decimal(0))
    free, locked = desk.fake.balances().get("BTC", (Decimal(0), Decimal(0)))
    held = position.quantity if position is not None else Decimal(0)
    assert free + locked == held + dust


FAULTS = [
    Fault("timeout", execute=True),  # carried out, the answer never comes
    Fault("status", status=503, execute=True),  # carried out, answered 503
    Fault("status", status=502),  # not carried out, answered 502
    Fault("rate_limit", retry_after=1),  # 429 with Retry-After
    Fault(
        "error",
        status=400,
        code=-1021,
        msg="Timestamp for this request is outside of the recvWindow.",
    ),
]


def test_with_a_fifth_of_requests_failing_no_order_is_placed_twice(db, fake):
    account_id = binance_account(db, fake)
    bot = binance_bot(db, account_id)
    desk = BinanceDesk(db, fake)
    # the first three orders surely meet an unknown outcome, then a fifth of everything fails
    fake.faults.timeout()
    fake.faults.server_error(503, execute=True)
    fake.faults.server_error(504)
    fake.faults.at_random(0.2, FAULTS, seed=7)
    for minute in range(150):
        desk.minute()
        if minute % 30 == 29:
            desk.reconcile()
    desk.settle()
    assert desk.reconcile() == 0  # a second pass finds nothing more to do

    assert len(fake.faults.fired) >= 10
    assert [r for r in fake.requests if r.status == 418] == []  # every Retry-After was kept
    orders = desk.orders()
    assert len([o for o in orders if o.status == OrderStatus.FILLED]) >= 4
    assert_books_match_binance(desk)
    assert_holdings_match(desk, bot)
