"""The Binance broker against the fake Binance, one behaviour at a time: orders leave
only after their intent is committed, an unknown outcome is looked up before any
resend, -2010 and filter refusals are recorded, -1021 resyncs the clock, Retry-After
is kept, a 418 halts every Binance bot, and reconciliation books what happened while
the engine was away."""

import time
from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db import candles as candle_store
from botdesk.db import kill_switch
from botdesk.db.models import Bot, BotState, Order, OrderStatus, OrderType, RiskEvent, Role
from botdesk.engine.brokers.base import MarketContext
from botdesk.engine.brokers.binance_rest import BinanceRest, RateLimited, RestGate
from botdesk.engine.orders import OrderRequest, submit
from botdesk.engine.runtime import EngineRuntime
from tests.engine.binance_setup import binance_account, binance_bot, fake_binance, settings_for
from tests.factories import make_bot

pytestmark = pytest.mark.integration


@pytest.fixture
def fake():
    with fake_binance(hold_seconds=1.0) as server:
        yield server


@pytest.fixture
def setup(db, fake):
    account_id = binance_account(db, fake)
    bot = binance_bot(db, account_id)
    runtime = EngineRuntime(db=db, settings=settings_for(db), engine_id="t")
    with db.writing() as session:
        candle_store.upsert(
            session=session,
            candles=[
                {
                    "symbol": "BTCUSDT",
                    "timeframe": "1m",
                    "open_time_ms": 0,
                    **{k: fake.exchange.price("BTCUSDT") for k in ("open", "high", "low", "close")},
                    "volume": Decimal(1),
                }
            ],
        )
    return runtime, runtime.brokers.get("binance"), bot


def order(db, broker, bot, *, client_id="bd-t-1", side="buy", quantity="0.002", **fields):
    """An order through the real order path (kill switch, risk hook), committed."""
    with db.writing() as session:
        row = session.get(Bot, bot.id)
        price = candle_store.last_price(session=session, symbol="BTCUSDT")
        request = OrderRequest(
            bot=row,
            side=side,
            quantity=Decimal(quantity),
            purpose="entry" if side == "buy" else "exit",
            client_order_id=client_id,
            reference_price=price,
            **fields,
        )
        market = MarketContext(symbol="BTCUSDT", at=time.time(), last_price=price)
        return submit(session, request, broker=broker, market=market).id


def stored(db, order_id: int) -> Order:
    with db.reading() as session:
        return session.get(Order, order_id)


def events(db, rule: str | None = None) -> list[RiskEvent]:
    with db.reading() as session:
        rows = session.exec(select(RiskEvent)).all()
    return [e for e in rows if rule is None or e.rule == rule]


def order_posts(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/api/v3/order"]


def test_the_order_path_only_records_and_dispatch_sends(db, fake, setup):
    _, broker, bot = setup
    order_id = order(db, broker, bot)
    assert stored(db, order_id).status == OrderStatus.NEW
    assert order_posts(fake) == []  # nothing left inside the order path's transaction
    broker.dispatch()
    row = stored(db, order_id)
    assert row.status == OrderStatus.FILLED
    (placed,) = fake.orders_with_client_id("bd-t-1")
    assert row.exchange_order_id == str(placed.order_id)
    assert row.filled_quantity == Decimal("0.002") - placed.trades[0].commission


def test_a_timeout_leaves_the_order_unknown_and_the_lookup_finds_it(db, fake, setup):
    _, broker, bot = setup
    fake.faults.timeout()  # placed on Binance, the answer never comes
    order_id = order(db, broker, bot)
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.UNKNOWN
    broker.dispatch()  # looked up by client order id, not sent again
    assert stored(db, order_id).status == OrderStatus.FILLED
    assert len(fake.orders_with_client_id("bd-t-1")) == 1
    lookups = [r for r in fake.requests if r.method == "GET" and r.path == "/api/v3/order"]
    assert lookups[0].params["origClientOrderId"] == "bd-t-1"


def test_a_5xx_that_did_nothing_is_sent_again_after_the_lookup(db, fake, setup):
    _, broker, bot = setup
    fake.faults.server_error(502)  # not carried out
    order_id = order(db, broker, bot)
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.UNKNOWN
    broker.dispatch()  # not found on Binance: back to new
    assert stored(db, order_id).status == OrderStatus.NEW
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.FILLED
    assert len(fake.orders_with_client_id("bd-t-1")) == 1
    assert len(order_posts(fake)) == 2


def test_insufficient_balance_is_recorded_with_a_risk_event(db, fake, setup):
    _, broker, bot = setup
    fake.faults.insufficient_balance()
    order_id = order(db, broker, bot)
    broker.dispatch()
    row = stored(db, order_id)
    assert row.status == OrderStatus.REJECTED
    assert "-2010" in row.status_reason and "insufficient balance" in row.status_reason
    (event,) = events(db, "binance_-2010")
    assert event.order_id == order_id


def test_an_order_outside_the_filters_is_refused_before_sending(db, fake, setup):
    _, broker, bot = setup
    order_id = order(db, broker, bot, quantity="0.00004")  # about 1 USDT: below NOTIONAL 5
    broker.dispatch()
    row = stored(db, order_id)
    assert row.status == OrderStatus.REJECTED
    assert "below the minimum 5" in row.status_reason and "NOTIONAL" in row.status_reason
    assert order_posts(fake) == []
    assert events(db, "exchange_filter")


def test_the_quantity_is_rounded_down_to_the_step(db, fake, setup):
    _, broker, bot = setup
    order_id = order(db, broker, bot, quantity="0.00212345")
    broker.dispatch()
    assert stored(db, order_id).quantity == Decimal("0.00212")
    assert order_posts(fake)[0].params["quantity"] == "0.00212"


def test_the_kill_switch_engaged_before_sending_stops_the_order(db, fake, setup):
    _, broker, bot = setup
    order_id = order(db, broker, bot)
    with db.writing() as session:
        kill_switch.engage(session=session, by="tester", role=Role.ADMIN, reason="test")
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.CANCELLED
    assert order_posts(fake) == []


def test_a_clock_error_resyncs_and_retries_once(db, fake, setup):
    _, broker, bot = setup
    fake.clock_offset_ms = 4_000  # the server is 4 s ahead: our timestamps look old
    fake.faults.clock_error(method="POST", path="/api/v3/order")
    order_id = order(db, broker, bot)
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.FILLED
    paths = [(r.path, r.status) for r in fake.requests if r.path != "/api/v3/exchangeInfo"]
    assert paths == [("/api/v3/order", 400), ("/api/v3/time", 200), ("/api/v3/order", 200)]
    (rest,) = [rest for _, rest in broker.connections.clients.values()]
    assert 3_000 < rest.client.timestamp_offset < 5_000


def test_retry_after_is_kept_nothing_is_sent_before_it(fake):
    rest = BinanceRest(fake.client(timeout=2), RestGate())
    fake.faults.rate_limit(retry_after=2)
    with pytest.raises(RateLimited) as first:
        rest.call("get_account")
    with pytest.raises(RateLimited):
        rest.call("get_account")
    assert len(fake.requests) == 1  # the second call never left
    time.sleep(max(0.0, first.value.retry_at - time.time()))
    assert "balances" in rest.call("get_account")
    assert [r.status for r in fake.requests] == [429, 200]  # never banned (418)


def test_the_weight_budget_pauses_before_binance_says_429(fake):
    fake.weight_limit = 100
    rest = BinanceRest(fake.client(timeout=2), RestGate(weight_limit=100, weight_budget=0.9))
    with pytest.raises(RateLimited) as paused:
        for _ in range(100):
            rest.call("get_account")  # weight 20 each
    assert "wait" in str(paused.value)
    assert all(r.status == 200 for r in fake.requests)
    assert rest.gate.used_weight >= 90


def test_a_418_halts_every_binance_bot_with_a_critical_risk_event(db, fake, setup):
    _, broker, bot = setup
    other = binance_bot(db, bot.exchange_account_id, name="second")
    paper = make_bot(db, name="paper", state=BotState.RUNNING)
    fake.faults.ban(retry_after=30, method="POST", path="/api/v3/order")
    order_id = order(db, broker, bot)
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.NEW  # Binance did nothing with it
    with db.reading() as session:
        states = {b.name: (b.status, b.desired_state) for b in session.exec(select(Bot)).all()}
    halted = (BotState.HALTED, BotState.STOPPED)
    assert states[bot.name] == halted and states[other.name] == halted
    assert states[paper.name] == (BotState.RUNNING, BotState.RUNNING)
    (event,) = events(db, "binance_418")
    assert event.severity == "critical"
    sent = len(fake.requests)
    broker.dispatch()  # banned: nothing leaves
    assert len(fake.requests) == sent


def test_a_418_on_any_call_halts_trading(db, fake, setup):
    _, broker, bot = setup
    fake.faults.ban(retry_after=30, method="GET", path="/api/v3/account")
    broker.synchronize(db)  # reconciliation meets the ban
    with db.reading() as session:
        assert session.get(Bot, bot.id).status == BotState.HALTED
    assert [e.severity for e in events(db, "binance_418")] == ["critical"]


def test_reconciliation_books_fills_made_while_the_engine_was_away(db, fake, setup):
    _, broker, bot = setup
    price = fake.exchange.price("BTCUSDT")
    limit = (price * Decimal("0.99")).quantize(Decimal("0.01"))
    order_id = order(db, broker, bot, type=OrderType.LIMIT, price=limit)
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.OPEN
    fake.set_price("BTCUSDT", limit - 1)  # fills while nobody looks
    fake.faults.timeout(method="GET", path="/api/v3/account")  # and one call fails on the way
    assert broker.synchronize(db) == 1
    row = stored(db, order_id)
    assert row.status == OrderStatus.FILLED and row.average_price == limit
    assert broker.synchronize(db) == 0  # nothing booked twice


def test_reconciliation_raises_foreign_trades_and_balance_shortfalls(db, fake, setup):
    _, broker, bot = setup
    order(db, broker, bot)
    broker.dispatch()
    client = fake.client()
    client.order_market_sell(symbol="BTCUSDT", quantity="0.001", newClientOrderId="by-hand")
    broker.synchronize(db)
    (foreign,) = events(db, "unknown_trade")
    assert "did not place" in foreign.message
    (short,) = events(db, "balance_mismatch")
    assert "BTC" in short.message and short.severity == "critical"
    broker.synchronize(db)
    assert len(events(db, "balance_mismatch")) == 1  # raised once while it lasts


def test_an_order_cancelled_while_its_outcome_is_unknown_is_never_sent(db, fake, setup):
    _, broker, bot = setup
    fake.faults.drop()  # the connection closes: Binance did nothing, we cannot know that
    order_id = order(db, broker, bot)
    broker.dispatch()
    assert stored(db, order_id).status == OrderStatus.UNKNOWN
    with db.writing() as session:  # the bot is stopped meanwhile
        broker.cancel(session, [session.get(Order, order_id)])
    broker.dispatch()
    row = stored(db, order_id)
    assert row.status == OrderStatus.CANCELLED, row.status_reason
    assert fake.orders_with_client_id("bd-t-1") == []
    broker.dispatch()
    assert fake.orders_with_client_id("bd-t-1") == [] and len(order_posts(fake)) == 1
