"""Protection held by Binance, against the fake exchange with the real python-binance
client: an entry's stop-loss and take-profit placed as an OCO (or one order), moved by
cancel-replace, released before an exit, re-placed for what a partial exit leaves, its
fills while the engine was away booked once by reconciliation, and never doubled by the
engine's own watch."""

from decimal import Decimal

import pytest
from sqlmodel import select

import botdesk.engine.handlers  # noqa: F401  (registers the command handlers)
from botdesk.db import candles as candle_store
from botdesk.db import kill_switch
from botdesk.db.models import Bot, Command, Order, Position, Protection, RiskEvent, Role
from botdesk.engine import commands, trading
from botdesk.engine.brokers.base import CandlePrices
from botdesk.engine.handlers.kill_switch import flatten_every_position
from botdesk.engine.risk import deadman
from botdesk.engine.runtime import EngineRuntime
from tests.engine.binance_setup import binance_account, binance_bot, fake_binance, settings_for
from tests.engine.protection_setup import (
    assert_ledger_exact,
    entry,
    fills_of,
    legs_of,
    positions,
    protections_of,
    requests_to,
    sell,
    sells_sent,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def fake():
    with fake_binance(hold_seconds=1.0) as server:
        server.set_price("BTCUSDT", "60000")
        yield server


@pytest.fixture
def setup(db, fake):
    account_id = binance_account(db, fake)
    bot = binance_bot(db, account_id)
    runtime = EngineRuntime(db=db, settings=settings_for(db), engine_id="t")
    set_last_price(db, Decimal("60000"))
    return runtime, runtime.brokers.get("binance"), bot


def set_last_price(db, price: Decimal, open_ms: int = 0) -> None:
    with db.writing() as session:
        candle_store.upsert(
            session=session,
            candles=[
                {
                    "symbol": "BTCUSDT",
                    "timeframe": "1m",
                    "open_time_ms": open_ms,
                    **{k: price for k in ("open", "high", "low", "close")},
                    "volume": Decimal(1),
                }
            ],
        )


def opened_with_oco(db, fake, broker, bot, stop="59000", take_profit="61500"):
    entry(db, broker, bot, stop=Decimal(stop), take_profit=Decimal(take_profit))
    broker.dispatch()  # the entry fills, its protection is recorded with the fill, placed
    (protection,) = protections_of(db)
    assert protection.status == "open"
    return protection


def test_an_entry_fill_places_an_oco_on_binance_with_our_ids(db, fake, setup):
    _, broker, bot = setup
    entry(db, broker, bot, stop=Decimal("59000.123"), take_profit=Decimal("61500.456"))
    assert requests_to(fake, "POST", "/api/v3/orderList/oco") == []
    broker.dispatch()
    (position,) = positions(db, bot)
    (protection,) = protections_of(db)
    assert protection.position_id == position.id
    assert protection.quantity == position.quantity == Decimal("0.001998")  # fee in BTC
    assert protection.stop_limit_price == Decimal("58705.12238500")  # 0.5 % below
    assert protection.status == "open"  # placed in the same pass, after the entry
    (placed,) = fake.exchange.order_lists
    assert placed.list_client_order_id == protection.list_client_order_id
    assert protection.order_list_id == str(placed.order_list_id)
    legs = legs_of(db, protection.id)
    stop, take = legs["stop_loss"], legs["take_profit"]
    on_binance = {o.client_order_id: o for o in placed.orders}
    assert on_binance[stop.client_order_id].type == "STOP_LOSS_LIMIT"
    assert on_binance[take.client_order_id].type == "LIMIT_MAKER"
    # the symbol's filters: quantity down to the step, prices down to the tick
    assert stop.quantity == take.quantity == Decimal("0.00199")
    assert (stop.stop_price, stop.price) == (Decimal("59000.12"), Decimal("58705.12"))
    assert take.price == Decimal("61500.45")
    assert on_binance[stop.client_order_id].stop_price == stop.stop_price
    assert stop.exchange_order_id == str(on_binance[stop.client_order_id].order_id)
    assert (stop.status, take.status) == ("open", "open")
    open_ids = {o["clientOrderId"] for o in fake.client().get_open_orders(symbol="BTCUSDT")}
    assert open_ids == {stop.client_order_id, take.client_order_id}
    broker.dispatch()
    assert len(fake.exchange.order_lists) == 1  # placed once


def test_a_stop_alone_is_a_stop_loss_limit_and_a_take_profit_alone_a_take_profit_limit(
    db, fake, setup
):
    _, broker, bot = setup
    entry(db, broker, bot, stop=Decimal("59000"))
    broker.dispatch()
    (order,) = [o for o in fake.exchange.orders if o.side == "SELL"]
    assert (order.type, order.stop_price, order.price) == (
        "STOP_LOSS_LIMIT",
        Decimal("59000"),
        Decimal("58705"),
    )
    sell(db, broker, bot, client_id="bd-t-close")
    broker.dispatch()
    entry(db, broker, bot, take_profit=Decimal("61000"))
    broker.dispatch()
    take = fake.orders_with_client_id(f"{protections_of(db)[-1].list_client_order_id}t")
    assert [(o.type, o.stop_price, o.price, o.status) for o in take] == [
        ("TAKE_PROFIT_LIMIT", Decimal("61000"), Decimal("61000"), "NEW")
    ]


def test_a_stop_move_cancels_then_replaces_and_one_list_is_held_at_a_time(db, fake, setup):
    _, broker, bot = setup
    first = opened_with_oco(db, fake, broker, bot)
    for stop in ("59400", "59700"):  # a trailing stop moving twice
        with db.writing() as session:
            position = session.get(Position, first.position_id)
            position.stop_price = Decimal(stop)
            broker.protection_changed(session, position, None)
        broker.dispatch()
    rows = protections_of(db)
    assert [row.status for row in rows] == ["cancelled", "cancelled", "open"]
    assert rows[-1].stop_price == Decimal("59700") and rows[-1].replaces_id == rows[1].id
    lists = fake.exchange.order_lists
    assert [(kept.status, kept.orders[1].stop_price) for kept in lists] == [
        ("ALL_DONE", Decimal("59000")),
        ("ALL_DONE", Decimal("59400")),
        ("EXECUTING", Decimal("59700")),
    ]
    # each replacement went out only once the one before was cancelled
    paths = [
        r.path for r in fake.requests if r.method in ("POST", "DELETE") and "orderList" in r.path
    ]
    assert paths == ["/api/v3/orderList/oco", "/api/v3/orderList"] * 2 + ["/api/v3/orderList/oco"]
    assert fake.balances()["BTC"][1] == Decimal("0.00199")  # locked once, by the last


def test_an_exit_cancels_the_protection_first_then_sells(db, fake, setup):
    _, broker, bot = setup
    protection = opened_with_oco(db, fake, broker, bot)
    exit_id = sell(db, broker, bot, client_id="bd-t-close")
    assert protections_of(db)[0].cancel_requested  # in the exit's own transaction
    broker.dispatch()
    assert protections_of(db)[0].status == "cancelled"
    assert {leg.status for leg in legs_of(db, protection.id).values()} == {"cancelled"}
    order_requests = [(r.method, r.path) for r in fake.requests if r.method in ("POST", "DELETE")]
    assert order_requests[-2:] == [("DELETE", "/api/v3/orderList"), ("POST", "/api/v3/order")]
    (position,) = positions(db, bot)
    assert (position.status, position.exit_reason) == ("closed", "close")
    assert len(fills_of(db, exit_id)) == 1
    assert_ledger_exact(db, bot)


def test_a_partial_exit_reprotects_the_rest(db, fake, setup):
    _, broker, bot = setup
    opened_with_oco(db, fake, broker, bot)
    sell(db, broker, bot, client_id="bd-t-half", quantity="0.001", purpose="exit")
    broker.dispatch()  # cancel, sell half, the rest's protection recorded and placed
    first, second = protections_of(db)
    assert first.status == "cancelled"
    assert (second.status, second.quantity) == ("open", Decimal("0.000998"))
    (position,) = positions(db, bot)
    assert position.quantity == Decimal("0.000998")
    executing = [kept for kept in fake.exchange.order_lists if kept.status == "EXECUTING"]
    assert [kept.orders[0].quantity for kept in executing] == [Decimal("0.00099")]
    assert_ledger_exact(db, bot)


def test_a_stop_filled_while_the_engine_was_away_is_booked_once(db, fake, setup):
    _, broker, bot = setup
    protection = opened_with_oco(db, fake, broker, bot)
    fake.set_price("BTCUSDT", "58800")  # through the stop, above its limit: it fills
    legs = legs_of(db, protection.id)
    assert broker.synchronize(db) == 2  # the stop leg's trade and the dust written off
    (position,) = positions(db, bot)
    assert (position.status, position.exit_reason) == ("closed", "stop_loss")
    stop_fills = fills_of(db, legs["stop_loss"].id)
    (trade,) = fake.orders_with_client_id(legs["stop_loss"].client_order_id)[0].trades
    assert [(f.trade_id, f.price, f.quantity) for f in stop_fills] == [
        (str(trade.id), Decimal("58705"), Decimal("0.00199"))
    ]
    after = legs_of(db, protection.id)
    assert (after["stop_loss"].status, after["take_profit"].status) == ("filled", "expired")
    assert protections_of(db)[0].status == "filled"
    assert broker.synchronize(db) == 0  # nothing booked twice
    broker.dispatch()
    assert sells_sent(fake) == []  # Binance sold; botdesk never sent a sell of its own
    assert len(protections_of(db)) == 1  # a closed position is not protected again
    assert_ledger_exact(db, bot)


def test_the_watch_never_sends_a_second_sell_for_a_stop_binance_holds(db, fake, setup):
    _, broker, bot = setup
    protection = opened_with_oco(db, fake, broker, bot)
    candle = CandlePrices(
        60_000, 119_999, *(Decimal(p) for p in ("59500", "59600", "58000", "58100"))
    )
    with db.writing() as session:
        trading.process_candle(
            session,
            bot=session.get(Bot, bot.id),
            candle=candle,
            timeframe="1m",
            signal=None,
            broker=broker,
        )
    with db.reading() as session:
        exits = [o for o in session.exec(select(Order)).all() if o.side == "sell"]
    assert {o.protection_id for o in exits} == {protection.id}  # only the legs
    broker.dispatch()
    assert sells_sent(fake) == []


def test_without_protection_at_the_exchange_the_watch_sells_itself(db, fake, setup):
    _, broker, bot = setup
    # 5.4 USDT bought, 0.00008 BTC left to protect: 4.70 USDT at the stop's limit, too small
    entry(db, broker, bot, stop=Decimal("59000"), quantity="0.00009")
    broker.dispatch()
    (protection,) = protections_of(db)
    assert protection.status == "rejected"
    assert "NOTIONAL" in protection.status_reason
    candle = CandlePrices(
        60_000, 119_999, *(Decimal(p) for p in ("59500", "59600", "58000", "58100"))
    )
    with db.writing() as session:
        trading.process_candle(
            session,
            bot=session.get(Bot, bot.id),
            candle=candle,
            timeframe="1m",
            signal=None,
            broker=broker,
        )
    with db.reading() as session:
        exits = [o for o in session.exec(select(Order)).all() if o.purpose == "stop_loss"]
    assert [o.protection_id for o in exits if o.protection_id is None] == [None]


class Silent:
    """A heartbeat that has not been written for an hour."""

    def seconds_since_success(self) -> float:
        return 3600.0


@pytest.fixture
def stale_heartbeat():
    deadman.arm(Silent(), 5)
    yield
    deadman.disarm()


def test_a_stale_heartbeat_refuses_the_exit_and_keeps_the_exchange_stop(
    db, fake, setup, stale_heartbeat
):
    _, broker, bot = setup
    deadman.disarm()
    protection = opened_with_oco(db, fake, broker, bot)
    deadman.arm(Silent(), 5)
    assert sell(db, broker, bot, client_id="bd-t-close") is None  # refused, committed
    with db.reading() as session:
        (refusal,) = session.exec(select(RiskEvent).where(RiskEvent.rule == "dead_mans_switch"))
    assert "heartbeat" in refusal.message
    broker.dispatch()
    broker.synchronize(db)
    row = protections_of(db)[0]
    assert (row.status, row.cancel_requested) == ("open", False)
    assert requests_to(fake, "DELETE", "/api/v3/orderList") == []
    assert fake.exchange.order_lists[0].status == "EXECUTING"
    fake.set_price("BTCUSDT", "58800")  # and it still protects
    broker.synchronize(db)
    (position,) = positions(db, bot)
    assert (position.status, position.exit_reason) == ("closed", "stop_loss")
    assert legs_of(db, protection.id)["stop_loss"].status == "filled"


def test_a_lost_answer_is_looked_up_and_the_oco_placed_once(db, fake, setup):
    _, broker, bot = setup
    entry(db, broker, bot, stop=Decimal("59000"), take_profit=Decimal("61500"))
    fake.faults.timeout(method="POST", path="/api/v3/orderList/oco")
    broker.dispatch()  # the entry fills; the OCO's answer never comes
    assert protections_of(db)[0].status == "unknown"
    broker.dispatch()  # looked up by its list client id, not placed again
    assert protections_of(db)[0].status == "open"
    assert len(fake.exchange.order_lists) == 1
    lookups = requests_to(fake, "GET", "/api/v3/orderList")
    assert lookups[0].params["origClientOrderId"] == protections_of(db)[0].list_client_order_id


def test_reconciliation_replaces_a_protection_cancelled_on_binance_by_hand(db, fake, setup):
    _, broker, bot = setup
    first = opened_with_oco(db, fake, broker, bot)
    fake.client().v3_delete_order_list(
        symbol="BTCUSDT", listClientOrderId=first.list_client_order_id
    )
    broker.synchronize(db)
    rows = protections_of(db)
    assert [row.status for row in rows] == ["cancelled", "open"]
    assert [kept.status for kept in fake.exchange.order_lists] == ["ALL_DONE", "EXECUTING"]


def test_reconciliation_adopts_a_leg_binance_holds(db, fake, setup):
    _, broker, bot = setup
    first = opened_with_oco(db, fake, broker, bot)
    with db.writing() as session:  # as if its answer had been given up on
        for leg in session.exec(select(Order).where(Order.protection_id == first.id)):
            leg.status = "expired"
            session.add(leg)
        row = session.get(Protection, first.id)
        row.status = "expired"
        session.add(row)
    broker.synchronize(db)
    rows = protections_of(db)
    assert rows[0].status == "open"  # adopted as Binance holds it
    assert len(fake.exchange.order_lists) == 1
    with db.reading() as session:
        assert session.exec(select(RiskEvent).where(RiskEvent.rule == "unknown_order")).all() == []


def test_the_kill_switch_flatten_releases_the_protection_before_selling(db, fake, setup):
    runtime, broker, bot = setup
    opened_with_oco(db, fake, broker, bot)
    with db.writing() as session:
        kill_switch.engage(session=session, by="tester", role=Role.ADMIN, reason="test")
    flatten_every_position(runtime, 1)
    broker.dispatch()
    (position,) = positions(db, bot)
    assert (position.status, position.exit_reason) == ("closed", "flatten")
    assert protections_of(db)[0].status == "cancelled"
    sent = [(r.method, r.path) for r in fake.requests if r.method in ("POST", "DELETE")]
    assert sent[-2:] == [("DELETE", "/api/v3/orderList"), ("POST", "/api/v3/order")]
    assert_ledger_exact(db, bot)


def test_the_kill_switch_without_flatten_keeps_the_stop_binance_holds(db, fake, setup):
    runtime, broker, bot = setup
    opened_with_oco(db, fake, broker, bot)
    with db.writing() as session:
        command = kill_switch.engage(session=session, by="ops", role=Role.TRADER, reason="halt")
    commands.consume(runtime)
    with db.reading() as session:
        done = session.get(Command, command.id)
    assert done.status == "done" and "cancelled 0 open order(s)" in done.result, done.result
    broker.dispatch()
    broker.synchronize(db)
    row = protections_of(db)[0]
    assert (row.status, row.cancel_requested) == ("open", False)
    assert fake.exchange.order_lists[0].status == "EXECUTING"
    assert requests_to(fake, "DELETE", "/api/v3/orderList") == []


def test_reconciliation_repairs_a_missing_leg_with_an_oco(db, fake, setup):
    _, broker, bot = setup
    entry(db, broker, bot, stop=Decimal("59000"))
    broker.dispatch()  # Binance holds a STOP_LOSS_LIMIT alone
    with db.writing() as session:  # a take-profit given while nobody told the broker
        position = session.exec(select(Position)).one()
        position.take_profit = Decimal("62000")
        session.add(position)
    broker.synchronize(db)
    first, second = protections_of(db)
    assert (first.status, second.status) == ("cancelled", "open")
    assert (second.stop_price, second.take_profit) == (Decimal("59000"), Decimal("62000"))
    (stop_alone,) = [o for o in fake.exchange.orders if o.order_list is None and o.side == "SELL"]
    assert stop_alone.status == "CANCELED"
    (oco,) = [kept for kept in fake.exchange.order_lists if kept.status == "EXECUTING"]
    assert oco.list_client_order_id == second.list_client_order_id
