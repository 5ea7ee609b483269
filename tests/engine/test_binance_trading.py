"""A bot trades on the fake Binance through the real python-binance client, end to end:
orders carry our client order ids, fills are booked as Binance reports them, and with
20% of the requests failing (timeouts, 5xx, 429, -1021) no order is placed twice and
reconciliation leaves none in an unknown state."""

import pytest
from sqlmodel import select

from botdesk.db.models import OrderStatus, RiskEvent
from tests.engine.binance_setup import (
    BinanceDesk,
    assert_books_match_binance,
    assert_holdings_match,
    binance_account,
    binance_bot,
    fake_binance,
)
from tests.fake_binance import Fault

pytestmark = pytest.mark.integration


@pytest.fixture
def fake():
    with fake_binance() as server:
        yield server


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
    assert_books_match_binance(db, fake)
    # the account's BTC is what the books say the bot holds (no more than dust apart)
    with db.reading() as session:
        events = session.exec(select(RiskEvent)).all()
    assert [e.message for e in events if e.rule == "balance_mismatch"] == []
    assert_holdings_match(db, fake, bot)


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
    assert_books_match_binance(db, fake)
    assert_holdings_match(db, fake, bot)
