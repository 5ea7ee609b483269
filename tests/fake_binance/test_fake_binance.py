"""The fake Binance, driven by the real python-binance Client: each behaviour a broker, a
feed and reconciliation will rely on, proven over real HTTP on 127.0.0.1."""

import time
from decimal import Decimal

import pytest
import requests
from binance.exceptions import BinanceAPIException

from tests.fake_binance import FakeBinance, load_klines

CANDLES = 300
START = 100  # the candle that has just closed when a test starts


@pytest.fixture
def fake():
    klines = {
        "BTCUSDT": load_klines("BTCUSDT-1m.csv", CANDLES),
        "XRPUSDT": load_klines("XRPUSDT-1m.csv", CANDLES),
    }
    with FakeBinance(klines=klines, start_index=START, ban_seconds=1, hold_seconds=3) as server:
        yield server


@pytest.fixture
def client(fake):
    return fake.client(timeout=2)


def refused(call, *args, **kwargs) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as caught:
        call(*args, **kwargs)
    return caught.value


def test_the_client_is_pointed_at_the_fake_for_testnet_and_live(fake):
    for testnet in (True, False):
        client = fake.client(testnet=testnet)
        assert client.ping() == {}
        assert abs(client.get_server_time()["serverTime"] - time.time() * 1000) < 60_000
    assert [r.path for r in fake.requests] == ["/api/v3/ping", "/api/v3/time"] * 2


def test_exchange_info_lists_the_filters(client):
    btc = client.get_symbol_info("BTCUSDT")
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    xrp = client.get_exchange_info()["symbols"][1]
    assert xrp["symbol"] == "XRPUSDT"
    assert "MIN_NOTIONAL" in {f["filterType"] for f in xrp["filters"]}
    assert client.get_symbol_info("DOGEUSDT") is None
    assert refused(client.get_symbol_ticker, symbol="DOGEUSDT").code == -1121


def test_klines_are_the_real_closed_candles_and_grow_as_the_market_advances(fake, client):
    data = load_klines("BTCUSDT-1m.csv", CANDLES)
    last = client.get_klines(symbol="BTCUSDT", interval="1m", limit=5)
    assert [row[0] for row in last] == [k.open_time for k in data[START - 4 : START + 1]]
    assert Decimal(last[-1][4]) == data[START].close
    assert last[-1][6] == data[START].open_time + 59_999
    fake.advance(3)
    assert (
        client.get_klines(symbol="BTCUSDT", interval="1m", limit=1)[0][0]
        == data[START + 3].open_time
    )
    assert Decimal(client.get_symbol_ticker(symbol="BTCUSDT")["price"]) == data[START + 3].close

    history = client.get_historical_klines("BTCUSDT", "1m", data[0].open_time)
    assert len(history) == START + 4  # every closed candle, paged by python-binance
    five = client.get_klines(symbol="BTCUSDT", interval="5m", startTime=data[0].open_time, limit=2)
    first_five = data[:5] if data[0].open_time % 300_000 == 0 else None
    if first_five:
        assert Decimal(five[0][2]) == max(k.high for k in first_five)
        assert Decimal(five[0][3]) == min(k.low for k in first_five)
        assert Decimal(five[0][4]) == first_five[-1].close
    assert all(row[0] % 300_000 == 0 for row in five)
    assert refused(client.get_klines, symbol="BTCUSDT", interval="7m").code == -1120


def test_signed_requests_need_the_right_key_secret_and_signature(fake, client):
    assert {b["asset"]: b["free"] for b in client.get_account()["balances"]} == {
        "USDT": "10000.00000000"
    }
    wrong_secret = fake.client(api_secret="0" * 64)
    assert refused(wrong_secret.get_account).code == -1022
    unknown_key = fake.client(api_key="nobody")
    error = refused(unknown_key.get_account)
    assert (error.status_code, error.code) == (401, -2015)

    # A parameter changed after signing: the signature no longer matches.
    stamp = int(time.time() * 1000)
    query = f"timestamp={stamp}"
    signature = client._hmac_signature(query)
    tampered = requests.get(
        f"{fake.base_url}/api/v3/account?timestamp={stamp + 1}&signature={signature}",
        headers={"X-MBX-APIKEY": fake.api_key},
        timeout=5,
    )
    assert tampered.status_code == 400 and tampered.json()["code"] == -1022
    honest = requests.get(
        f"{fake.base_url}/api/v3/account?{query}&signature={signature}",
        headers={"X-MBX-APIKEY": fake.api_key},
        timeout=5,
    )
    assert honest.status_code == 200


def test_a_clock_out_of_step_gets_minus_1021_until_the_client_syncs(fake, client):
    fake.clock_offset_ms = 70_000  # the server is 70 s ahead: our timestamps look old
    error = refused(client.get_account)
    assert error.code == -1021 and "recvWindow" in error.message
    fake.clock_offset_ms = -70_000  # the server is behind: our timestamps are in its future
    assert "ahead of the server" in refused(client.get_account).message
    client.timestamp_offset = client.get_server_time()["serverTime"] - int(time.time() * 1000)
    assert client.get_account()["accountType"] == "SPOT"


def test_a_market_buy_fills_at_the_current_price_with_commission_in_base(fake, client):
    fake.set_price("BTCUSDT", "60000.00")
    order = client.order_market_buy(symbol="BTCUSDT", quantity="0.01", newClientOrderId="bd-7-1")
    assert (order["status"], order["clientOrderId"], order["executedQty"]) == (
        "FILLED",
        "bd-7-1",
        "0.01000000",
    )
    [fill] = order["fills"]
    assert (fill["price"], fill["commission"], fill["commissionAsset"]) == (
        "60000.00000000",
        "0.00001000",
        "BTC",
    )
    assert fake.balances()["USDT"] == (Decimal("9400"), Decimal(0))
    assert fake.balances()["BTC"] == (Decimal("0.00999"), Decimal(0))
    queried = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-7-1")
    assert queried["orderId"] == order["orderId"] and queried["status"] == "FILLED"
    [trade] = client.get_my_trades(symbol="BTCUSDT")
    assert (trade["orderId"], trade["qty"], trade["isBuyer"]) == (
        order["orderId"],
        "0.01000000",
        True,
    )
    sold = client.order_market_sell(symbol="BTCUSDT", quantity="0.00999")
    assert sold["fills"][0]["commissionAsset"] == "USDT"
    assert fake.balances()["USDT"][0] == Decimal("9400") + Decimal("599.4") - Decimal("0.5994")
    assert len(client.get_all_orders(symbol="BTCUSDT")) == 2


@pytest.mark.parametrize(
    ("order", "code", "message"),
    [
        ({"type": "MARKET", "quantity": "0.000001"}, -1013, "Filter failure: MARKET_LOT_SIZE"),
        ({"type": "MARKET", "quantity": "0.00005"}, -1013, "Filter failure: NOTIONAL"),
        (
            {"type": "LIMIT", "quantity": "0.001", "price": "59000.005", "timeInForce": "GTC"},
            -1013,
            "Filter failure: PRICE_FILTER",
        ),
        (
            {"type": "LIMIT", "quantity": "0.000015", "price": "59000", "timeInForce": "GTC"},
            -1013,
            "Filter failure: LOT_SIZE",
        ),
        ({"type": "MARKET", "quantity": "0.0000000001"}, -1111, "Precision is over the maximum"),
        ({"type": "MARKET", "quantity": "1"}, -2010, "insufficient balance"),
        ({"type": "MARKET", "quantity": "0.01", "side": "SELL"}, -2010, "insufficient balance"),
        ({"type": "STOP_LOSS", "quantity": "0.01"}, -1116, "Invalid orderType."),
        ({"type": "LIMIT", "quantity": "0.01", "price": "59000"}, -1102, "'timeInForce'"),
        (
            {"type": "MARKET", "quantity": "0.01", "newClientOrderId": "x" * 37},
            -1100,
            "legal range",
        ),
    ],
)
def test_orders_that_break_a_rule_are_refused_with_binances_code(
    fake, client, order, code, message
):
    fake.set_price("BTCUSDT", "60000")
    error = refused(client.create_order, **{"symbol": "BTCUSDT", "side": "BUY", **order})
    assert (error.status_code, error.code) == (400, code)
    assert message in error.message
    assert fake.exchange.orders == []
    assert fake.balances()["USDT"] == (Decimal("10000"), Decimal(0))


def test_xrp_uses_the_older_min_notional_filter(fake, client):
    fake.set_price("XRPUSDT", "0.5")
    error = refused(client.order_market_buy, symbol="XRPUSDT", quantity="5")
    assert error.message == "Filter failure: MIN_NOTIONAL"


def test_resting_limit_orders_lock_funds_fill_as_the_market_trades_through_and_cancel(fake, client):
    fake.set_price("BTCUSDT", "60000")
    resting = client.order_limit_buy(
        symbol="BTCUSDT", quantity="0.01", price="59000.00", newClientOrderId="bd-9-1"
    )
    assert resting["status"] == "NEW" and resting["fills"] == []
    assert fake.balances()["USDT"] == (Decimal("9410"), Decimal("590"))
    assert [o["clientOrderId"] for o in client.get_open_orders(symbol="BTCUSDT")] == ["bd-9-1"]
    duplicate = refused(
        client.order_limit_buy,
        symbol="BTCUSDT",
        quantity="0.01",
        price="58000",
        newClientOrderId="bd-9-1",
    )
    assert (duplicate.code, duplicate.message) == (-2010, "Duplicate order sent.")

    other = client.order_limit_buy(symbol="BTCUSDT", quantity="0.01", price="58000")
    cancelled = client.cancel_order(symbol="BTCUSDT", orderId=other["orderId"])
    assert cancelled["status"] == "CANCELED"
    assert cancelled["origClientOrderId"] == other["clientOrderId"]
    assert fake.balances()["USDT"] == (Decimal("9410"), Decimal("590"))
    assert refused(client.cancel_order, symbol="BTCUSDT", orderId=other["orderId"]).code == -2011
    assert refused(client.get_order, symbol="BTCUSDT", origClientOrderId="nope").code == -2013

    fake.set_price("BTCUSDT", "58999.99")  # trades through 59000
    filled = client.get_order(symbol="BTCUSDT", origClientOrderId="bd-9-1")
    assert (filled["status"], filled["executedQty"]) == ("FILLED", "0.01000000")
    [trade] = client.get_my_trades(symbol="BTCUSDT", orderId=filled["orderId"])
    assert (trade["price"], trade["isMaker"]) == ("59000.00000000", True)
    assert fake.balances()["USDT"] == (Decimal("9410"), Decimal(0))
    assert client.get_open_orders(symbol="BTCUSDT") == []

    maker = refused(
        client.create_order,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT_MAKER",
        quantity="0.001",
        price="60000",
    )
    assert maker.message == "Order would immediately match and take."
    client.order_limit_sell(symbol="BTCUSDT", quantity="0.005", price="70000")
    assert len(client._delete("openOrders", True, data={"symbol": "BTCUSDT"})) == 1
    assert fake.balances()["BTC"] == (Decimal("0.00999"), Decimal(0))


def test_candles_fill_resting_orders_when_the_market_advances(fake, client):
    data = load_klines("BTCUSDT-1m.csv", CANDLES)
    below = min(k.low for k in data[START + 1 : START + 30])
    price = (below + Decimal("0.01")).quantize(Decimal("0.01"))
    order = client.order_limit_buy(symbol="BTCUSDT", quantity="0.001", price=str(price))
    assert order["status"] == "NEW"
    fake.advance(30)
    assert client.get_order(symbol="BTCUSDT", orderId=order["orderId"])["status"] == "FILLED"


def test_a_timeout_places_the_order_but_the_answer_never_comes(fake):
    client = fake.client(timeout=0.5)
    fake.set_price("BTCUSDT", "60000")
    fake.faults.timeout()
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.order_market_buy(symbol="BTCUSDT", quantity="0.01", newClientOrderId="bd-11-1")
    [placed] = fake.orders_with_client_id("bd-11-1")
    assert placed.status == "FILLED"
    # What a broker must do before any resend: ask by its own client order id.
    assert client.get_order(symbol="BTCUSDT", origClientOrderId="bd-11-1")["status"] == "FILLED"


def test_a_dropped_request_or_a_5xx_places_nothing_unless_told_to(fake, client):
    fake.set_price("BTCUSDT", "60000")
    fake.faults.drop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.order_market_buy(symbol="BTCUSDT", quantity="0.01", newClientOrderId="bd-12-1")
    assert fake.orders_with_client_id("bd-12-1") == []

    fake.faults.server_error(503)
    error = refused(
        client.order_market_buy, symbol="BTCUSDT", quantity="0.01", newClientOrderId="bd-12-2"
    )
    assert error.status_code == 503 and fake.orders_with_client_id("bd-12-2") == []

    fake.faults.server_error(502, execute=True)  # placed, yet the answer is an error
    assert (
        refused(
            client.order_market_buy, symbol="BTCUSDT", quantity="0.01", newClientOrderId="bd-12-3"
        ).status_code
        == 502
    )
    assert [o.status for o in fake.orders_with_client_id("bd-12-3")] == ["FILLED"]


def test_429_carries_retry_after_and_a_client_that_ignores_it_is_banned_418(fake, client):
    fake.faults.rate_limit(retry_after=1, path="/api/v3/account")
    limited = refused(client.get_account)
    assert (limited.status_code, limited.code) == (429, -1003)
    assert limited.response.headers["Retry-After"] == "1"
    banned = refused(client.get_server_time)  # did not wait
    assert banned.status_code == 418 and "IP banned until" in banned.message
    assert int(banned.response.headers["Retry-After"]) >= 1
    time.sleep(fake.ban_seconds + 0.1)  # the ban set by the fake runs out
    assert client.get_account()["canTrade"] is True


def test_request_weight_is_counted_and_limited_per_minute():
    klines = {"BTCUSDT": load_klines("BTCUSDT-1m.csv", 10)}
    with FakeBinance(klines=klines, weight_limit=45) as fake:
        client = fake.client()
        client.get_exchange_info()
        assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "20"
        client.get_exchange_info()
        assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "40"
        error = refused(client.get_exchange_info)
        assert error.status_code == 429 and int(error.response.headers["Retry-After"]) >= 1


def test_injected_binance_errors_and_an_explicit_ban(fake, client):
    fake.set_price("BTCUSDT", "60000")
    fake.faults.clock_error(path="/api/v3/account")
    assert refused(client.get_account).code == -1021
    fake.faults.insufficient_balance()
    assert refused(client.order_market_buy, symbol="BTCUSDT", quantity="0.001").code == -2010
    fake.faults.ban(retry_after=1)
    assert refused(client.ping).status_code == 418
    time.sleep(1.1)
    assert client.ping() == {}


def test_random_faults_are_reproducible_from_their_seed(fake):
    from tests.fake_binance.faults import Fault

    def run() -> list[int | None]:
        fake.faults.at_random(
            0.3,
            [Fault("status", status=503), Fault("error", status=400, code=-1021, msg="x")],
            seed=7,
            path="/api/v3/time",
        )
        outcomes = []
        client = fake.client()
        for _ in range(30):
            try:
                client.get_server_time()
                outcomes.append(200)
            except BinanceAPIException as error:
                outcomes.append(error.status_code)
        return outcomes

    first, second = run(), run()
    assert first == second and 0 < first.count(200) < 30
