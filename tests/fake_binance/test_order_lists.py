"""The fake Binance's stop orders and OCO order lists, driven by the real python-binance
Client: placement with Binance's price rules, triggering by the fake's own prices, one leg
filling and the other expiring, cancelling a list, the open lists and open orders."""

from decimal import Decimal

import pytest
from binance.exceptions import BinanceAPIException

from tests.fake_binance import FakeBinance, load_klines


@pytest.fixture
def fake():
    klines = {"BTCUSDT": load_klines("BTCUSDT-1m.csv", 50)}
    with FakeBinance(klines=klines, start_index=10, balances={"BTC": "0.01"}) as server:
        server.set_price("BTCUSDT", "60000")
        yield server


@pytest.fixture
def client(fake):
    return fake.client(timeout=2)


def refused(call, **params) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as caught:
        call(**params)
    return caught.value


def oco(client, *, above="61000", stop="59000", limit="58900", list_id="bd-1-p1-r1", **extra):
    return client.create_oco_order(
        symbol="BTCUSDT",
        side="SELL",
        quantity="0.005",
        listClientOrderId=list_id,
        aboveType="LIMIT_MAKER",
        abovePrice=above,
        aboveClientOrderId=f"{list_id}t",
        belowType="STOP_LOSS_LIMIT",
        belowStopPrice=stop,
        belowPrice=limit,
        belowTimeInForce="GTC",
        belowClientOrderId=f"{list_id}s",
        **extra,
    )


def test_an_oco_rests_locks_its_quantity_once_and_lists_its_legs(fake, client):
    placed = oco(client)
    assert placed["listClientOrderId"] == "bd-1-p1-r1"
    assert placed["listOrderStatus"] == "EXECUTING"
    reports = {r["clientOrderId"]: r for r in placed["orderReports"]}
    assert reports["bd-1-p1-r1s"]["type"] == "STOP_LOSS_LIMIT"
    assert reports["bd-1-p1-r1s"]["stopPrice"] == "59000.00000000"
    assert reports["bd-1-p1-r1t"]["type"] == "LIMIT_MAKER"
    assert fake.balances()["BTC"] == (Decimal("0.005"), Decimal("0.005"))
    open_orders = client.get_open_orders(symbol="BTCUSDT")
    assert {o["clientOrderId"] for o in open_orders} == {"bd-1-p1-r1s", "bd-1-p1-r1t"}
    assert {o["orderListId"] for o in open_orders} == {placed["orderListId"]}
    (listed,) = client.get_open_oco_orders()
    assert listed["listClientOrderId"] == "bd-1-p1-r1"
    found = client.v3_get_order_list(origClientOrderId="bd-1-p1-r1")
    assert found["orderListId"] == placed["orderListId"]


def test_binance_price_rules_and_balance_are_kept(fake, client):
    # a sell OCO needs take-profit above the price and the stop below it
    assert refused(oco, client=client, above="59500").code == -2010
    assert refused(oco, client=client, stop="60500", limit="60400").code == -2010
    assert refused(oco, client=client, stop="59000.001").code == -1013  # PRICE_FILTER tick
    error = refused(
        client.create_oco_order,
        symbol="BTCUSDT",
        side="SELL",
        quantity="0.02",
        aboveType="LIMIT_MAKER",
        abovePrice="61000",
        belowType="STOP_LOSS_LIMIT",
        belowStopPrice="59000",
        belowPrice="58900",
        belowTimeInForce="GTC",
    )
    assert (error.code, error.message) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )
    assert fake.exchange.order_lists == []


def test_the_stop_triggers_fills_at_its_limit_and_the_take_profit_expires(fake, client):
    placed = oco(client)
    fake.set_price("BTCUSDT", "59500")  # not yet
    assert client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r1s")["status"] == "NEW"
    fake.set_price("BTCUSDT", "58950")  # through the stop, above its limit
    stop = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r1s")
    take = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r1t")
    assert (stop["status"], stop["executedQty"]) == ("FILLED", "0.00500000")
    assert take["status"] == "EXPIRED"
    (trade,) = client.get_my_trades(symbol="BTCUSDT")
    assert (trade["orderId"], trade["price"]) == (stop["orderId"], "58900.00000000")
    assert client.v3_get_order_list(orderListId=placed["orderListId"])["listOrderStatus"] == (
        "ALL_DONE"
    )
    assert client.get_open_orders(symbol="BTCUSDT") == []
    assert fake.balances()["BTC"] == (Decimal("0.005"), Decimal(0))


def test_a_candle_through_both_legs_fills_the_stop_first(fake, client):
    data = fake.exchange.paths["BTCUSDT"].klines
    candle = data[11]
    fake.exchange.paths["BTCUSDT"].override = None
    mid = ((candle.high + candle.low) / 2).quantize(Decimal("0.01"))
    fake.set_price("BTCUSDT", mid)
    oco(
        client,
        above=str(candle.high - Decimal("0.01")),
        stop=str(candle.low + Decimal("0.01")),
        limit=str(candle.low + Decimal("0.01")),
    )
    fake.advance(1)
    stop = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r1s")
    take = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r1t")
    assert (stop["status"], take["status"]) == ("FILLED", "EXPIRED")


def test_the_take_profit_fills_and_the_stop_expires(fake, client):
    oco(client)
    fake.set_price("BTCUSDT", "61000")
    take = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r1t")
    stop = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r1s")
    assert (take["status"], stop["status"]) == ("FILLED", "EXPIRED")
    fake.set_price("BTCUSDT", "58000")  # an expired stop never triggers
    assert len(client.get_my_trades(symbol="BTCUSDT")) == 1


def test_cancelling_the_list_or_one_leg_cancels_both_and_frees_the_quantity(fake, client):
    placed = oco(client)
    cancelled = client.v3_delete_order_list(symbol="BTCUSDT", listClientOrderId="bd-1-p1-r1")
    assert {r["status"] for r in cancelled["orderReports"]} == {"CANCELED"}
    assert fake.balances()["BTC"] == (Decimal("0.01"), Decimal(0))
    error = refused(
        client.v3_delete_order_list, symbol="BTCUSDT", orderListId=placed["orderListId"]
    )
    assert error.code == -2011
    oco(client, list_id="bd-1-p1-r2")
    client.cancel_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r2t")
    stop = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-1-p1-r2s")
    assert stop["status"] == "CANCELED"
    assert fake.balances()["BTC"] == (Decimal("0.01"), Decimal(0))
    assert refused(client.v3_get_order_list, origClientOrderId="nope").code == -2018


def test_a_stop_loss_limit_alone_and_a_take_profit_limit_alone(fake, client):
    stop = client.create_order(
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_LOSS_LIMIT",
        quantity="0.004",
        stopPrice="59000",
        price="58800",
        timeInForce="GTC",
        newClientOrderId="bd-1-p2-r1s",
    )
    take = client.create_order(
        symbol="BTCUSDT",
        side="SELL",
        type="TAKE_PROFIT_LIMIT",
        quantity="0.004",
        stopPrice="62000",
        price="62000",
        timeInForce="GTC",
        newClientOrderId="bd-1-p3-r1t",
    )
    assert (stop["status"], take["status"]) == ("NEW", "NEW")
    assert fake.balances()["BTC"] == (Decimal("0.002"), Decimal("0.008"))
    error = refused(
        client.create_order,
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_LOSS_LIMIT",
        quantity="0.001",
        stopPrice="60100",
        price="60000",
        timeInForce="GTC",
    )
    assert (error.code, error.message) == (-2010, "Stop price would trigger immediately.")
    fake.set_price("BTCUSDT", "62000")
    assert client.get_order(symbol="BTCUSDT", orderId=take["orderId"])["status"] == "FILLED"
    fake.set_price("BTCUSDT", "58700")  # triggered, but below its limit: it rests
    assert client.get_order(symbol="BTCUSDT", orderId=stop["orderId"])["status"] == "NEW"
    fake.set_price("BTCUSDT", "58800")
    assert client.get_order(symbol="BTCUSDT", orderId=stop["orderId"])["status"] == "FILLED"
