"""The spot REST endpoints the fake serves: path, weight, whether signed, and the answer.

Weights are Binance's (exchangeInfo 20, account 20, openOrders 6 or 80 without a symbol,
allOrders 20, myTrades 20, klines 2, order 1 or 4 to query, ...), so a client's weight
accounting can be checked against `X-MBX-USED-WEIGHT-1M`.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from tests.fake_binance import order_lists
from tests.fake_binance.exchange import Exchange
from tests.fake_binance.models import Account, BinanceError, text


@dataclass
class Call:
    """What a route gets: the parsed parameters, the signed-in account, the server time."""

    params: dict
    account: Account | None
    now: int
    exchange: Exchange


@dataclass(frozen=True)
class Route:
    weight: int
    signed: bool
    handle: Callable[[Call], object]


RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def exchange_info(call: Call) -> dict:
    exchange = call.exchange
    if call.params.get("symbol"):
        names = [call.params["symbol"]]
    elif call.params.get("symbols"):
        try:
            names = json.loads(call.params["symbols"])
        except ValueError:
            raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    else:
        names = sorted(exchange.paths)
    symbols = []
    for name in names:
        rules = exchange.rules_for(name)
        symbols.append(
            {
                "symbol": rules.symbol,
                "status": "TRADING",
                "baseAsset": rules.base,
                "baseAssetPrecision": 8,
                "quoteAsset": rules.quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "orderTypes": [
                    "LIMIT",
                    "LIMIT_MAKER",
                    "MARKET",
                    "STOP_LOSS_LIMIT",
                    "TAKE_PROFIT_LIMIT",
                ],
                "icebergAllowed": False,
                "ocoAllowed": True,
                "quoteOrderQtyMarketAllowed": True,
                "allowTrailingStop": False,
                "cancelReplaceAllowed": False,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": rules.filters(),
                "permissions": ["SPOT"],
                "defaultSelfTradePreventionMode": "NONE",
                "allowedSelfTradePreventionModes": ["NONE"],
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": call.now,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": symbols,
    }


def new_order(call: Call, test: bool = False) -> dict:
    order = call.exchange.place(call.account, call.params, call.now, test=test)
    if test:
        return {}
    answer = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": call.now,
    }
    kind = call.params.get("newOrderRespType") or "FULL"
    if kind == "ACK":
        return answer
    answer = {**order.as_json(), **answer}
    for unused in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking"):
        answer.pop(unused)
    if kind == "FULL":
        answer["fills"] = [trade.as_fill() for trade in order.trades]
    return answer


def cancel_order(call: Call) -> dict:
    order, cancel_id = call.exchange.cancel(call.account, call.params, call.now)
    answer = order.as_json()
    answer["origClientOrderId"] = order.client_order_id
    answer["clientOrderId"] = cancel_id
    return answer


def cancel_open_orders(call: Call) -> list:
    symbol = call.exchange.rules_for(call.params.get("symbol")).symbol
    cancelled = []
    for order in call.exchange.open_orders(call.account, symbol):
        cancelled.append(
            cancel_order(
                Call(
                    {"symbol": symbol, "orderId": str(order.order_id)},
                    call.account,
                    call.now,
                    call.exchange,
                )
            )
        )
    if not cancelled:
        raise BinanceError(-2011, "Unknown order sent.")
    return cancelled


def new_oco(call: Call) -> dict:
    placed = order_lists.place_oco(call.exchange, call.account, call.params, call.now)
    return placed.as_json(reports=True)


def cancel_order_list(call: Call) -> dict:
    cancelled = order_lists.cancel_list(call.exchange, call.account, call.params, call.now)
    return cancelled.as_json(reports=True)


def ticker_price(call: Call):
    symbol = call.params.get("symbol")
    if symbol:
        return {"symbol": symbol, "price": text(call.exchange.price(symbol))}
    return [
        {"symbol": s, "price": text(call.exchange.price(s))} for s in sorted(call.exchange.paths)
    ]


def avg_price(call: Call) -> dict:
    symbol = call.params.get("symbol")
    return {"mins": 5, "price": text(call.exchange.price(symbol)), "closeTime": call.now}


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): Route(1, False, lambda call: {}),
    ("GET", "/api/v3/time"): Route(1, False, lambda call: {"serverTime": call.now}),
    ("GET", "/api/v3/exchangeInfo"): Route(20, False, exchange_info),
    ("GET", "/api/v3/klines"): Route(2, False, lambda call: call.exchange.klines(call.params)),
    ("GET", "/api/v3/ticker/price"): Route(2, False, ticker_price),
    ("GET", "/api/v3/avgPrice"): Route(2, False, avg_price),
    ("GET", "/api/v3/account"): Route(
        20, True, lambda call: call.exchange.account_json(call.account, call.now)
    ),
    ("POST", "/api/v3/order"): Route(1, True, new_order),
    ("POST", "/api/v3/order/test"): Route(1, True, lambda call: new_order(call, test=True)),
    ("GET", "/api/v3/order"): Route(
        4, True, lambda call: call.exchange.find(call.account, call.params).as_json()
    ),
    ("DELETE", "/api/v3/order"): Route(1, True, cancel_order),
    ("POST", "/api/v3/orderList/oco"): Route(1, True, new_oco),
    ("GET", "/api/v3/orderList"): Route(
        4,
        True,
        lambda call: order_lists.find(
            call.exchange, call.account, call.params, "origClientOrderId"
        ).as_json(),
    ),
    ("DELETE", "/api/v3/orderList"): Route(1, True, cancel_order_list),
    ("GET", "/api/v3/openOrderList"): Route(
        6,
        True,
        lambda call: [
            kept.as_json() for kept in order_lists.open_lists(call.exchange, call.account)
        ],
    ),
    ("GET", "/api/v3/openOrders"): Route(
        6,
        True,
        lambda call: [
            o.as_json() for o in call.exchange.open_orders(call.account, call.params.get("symbol"))
        ],
    ),
    ("DELETE", "/api/v3/openOrders"): Route(1, True, cancel_open_orders),
    ("GET", "/api/v3/allOrders"): Route(
        20,
        True,
        lambda call: [o.as_json() for o in call.exchange.all_orders(call.account, call.params)],
    ),
    ("GET", "/api/v3/myTrades"): Route(
        20,
        True,
        lambda call: [t.as_json() for t in call.exchange.my_trades(call.account, call.params)],
    ),
}


def weight_of(route: Route | None, params: dict) -> int:
    if route is None:
        return 1
    if route.handle is ticker_price and not params.get("symbol"):
        return 4
    if route.weight == 6 and not params.get("symbol"):  # openOrders across every symbol
        return 80
    return route.weight
