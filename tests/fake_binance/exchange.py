"""The fake exchange's operations: place, query and cancel orders, trades, balances, klines.

Matching is simple on purpose: a market order (or a marketable limit order) fills at once
at the current price; a resting limit order fills at its own price when a later candle
trades through it. A STOP_LOSS_LIMIT (TAKE_PROFIT_LIMIT) sell triggers when a candle
trades at or below (above) its stopPrice and then rests as a limit order at its price,
filling in that same candle if it traded there; the stops of a candle are triggered
before any limit order is matched, so of an OCO whose two legs a candle touches, the
stop wins (and the other leg expires; see order_lists.py). Commission is taken from what
the account receives (base on a buy, quote on a sell), as Binance does without BNB. Only
closed candles are visible.
"""

import re
import threading
from decimal import ROUND_DOWN, Decimal

from tests.fake_binance import order_lists
from tests.fake_binance.models import (
    CLIENT_ORDER_ID,
    DEFAULT_RULES,
    EIGHT,
    OPEN_STATUSES,
    Account,
    BinanceError,
    Kline,
    Order,
    OrderList,
    PricePath,
    SymbolRules,
    Trade,
    decimal_param,
    mandatory,
    new_client_order_id,
    text,
)
from tests.fake_binance.prices import kline_rows, query_int, query_limit

INSUFFICIENT = "Account has insufficient balance for requested action."
STOP_TYPES = ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
ORDER_TYPES = ("MARKET", "LIMIT", "LIMIT_MAKER", *STOP_TYPES)


def _reached(order: Order, low: Decimal, high: Decimal) -> bool:
    """Whether a candle from `low` to `high` reached the stop order's trigger."""
    below = (order.type == "STOP_LOSS_LIMIT") == (order.side == "SELL")
    return low <= order.stop_price if below else high >= order.stop_price


class Exchange:
    """All state, behind one lock: the HTTP server serves each request in its own thread."""

    def __init__(self, rules: dict[str, SymbolRules] | None = None, fee_rate=Decimal("0.001")):
        self.rules = dict(rules or DEFAULT_RULES)
        self.fee_rate = fee_rate
        self.paths: dict[str, PricePath] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: list[Order] = []
        self.order_lists: list[OrderList] = []
        self.lock = threading.RLock()
        self.list_ids = iter(range(700, 10**12))
        self._order_ids = iter(range(1_000, 10**12))
        self._trade_ids = iter(range(50_000, 10**12))

    # --- market -----------------------------------------------------------------------

    def rules_for(self, symbol: str | None) -> SymbolRules:
        if not symbol:
            raise mandatory("symbol")
        if symbol not in self.rules or symbol not in self.paths:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.rules[symbol]

    def price(self, symbol: str) -> Decimal:
        self.rules_for(symbol)
        return self.paths[symbol].price

    def add_path(self, symbol: str, klines: list[Kline], start: int = 0) -> None:
        with self.lock:
            self.paths[symbol] = PricePath(klines, start)

    def set_price(self, symbol: str, price: Decimal, now: int) -> None:
        with self.lock:
            self.rules_for(symbol)
            self.paths[symbol].override = Decimal(price)
            self._match_resting(symbol, Decimal(price), Decimal(price), now)

    def advance(self, now: int, steps: int = 1, symbol: str | None = None) -> None:
        """Close `steps` more candles (of one symbol or all); resting orders may fill."""
        with self.lock:
            for name, path in self.paths.items():
                if symbol not in (None, name):
                    continue
                for _ in range(steps):
                    if path.index + 1 >= len(path.klines):
                        break
                    path.index += 1
                    path.override = None
                    candle = path.klines[path.index]
                    self._match_resting(name, candle.low, candle.high, now)

    def klines(self, params: dict) -> list[list]:
        with self.lock:
            path = self.paths[self.rules_for(params.get("symbol")).symbol]
            return kline_rows(path, params)

    # --- accounts ---------------------------------------------------------------------

    def add_account(self, api_key: str, api_secret: str, balances: dict | None = None) -> Account:
        with self.lock:
            account = Account(api_key, api_secret)
            for asset, amount in (balances or {}).items():
                account.move(asset, free=Decimal(amount))
            self.accounts[api_key] = account
            return account

    def account_json(self, account: Account, now: int) -> dict:
        with self.lock:
            balances = [
                {"asset": asset, "free": text(free), "locked": text(locked)}
                for asset, (free, locked) in sorted(account.balances.items())
            ]
        commission = text(self.fee_rate)
        return {
            "makerCommission": int(self.fee_rate * 10_000),
            "takerCommission": int(self.fee_rate * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": commission,
                "taker": commission,
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": now,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 1,
        }

    # --- orders -----------------------------------------------------------------------

    def place(self, account: Account, params: dict, now: int, test: bool = False) -> Order:
        with self.lock:
            rules = self.rules_for(params.get("symbol"))
            side, order_type = params.get("side"), params.get("type")
            if not side:
                raise mandatory("side")
            if side not in ("BUY", "SELL"):
                raise BinanceError(-1117, "Invalid side.")
            if not order_type:
                raise mandatory("type")
            if order_type not in ORDER_TYPES:
                raise BinanceError(-1116, "Invalid orderType.")
            client_id = self.checked_client_id(account, params.get("newClientOrderId"))
            market = self.paths[rules.symbol].price
            order = self._new_order(account, rules, params, client_id, market, now)
            if test:
                return order
            self.orders.append(order)
            self._execute(order, rules, market, now)
            return order

    def checked_client_id(self, account: Account, client_id: str | None) -> str:
        client_id = client_id or new_client_order_id()
        if not re.fullmatch(CLIENT_ORDER_ID, client_id):
            raise BinanceError(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; "
                f"legal range is '{CLIENT_ORDER_ID}'.",
            )
        if any(
            o.account is account and o.client_order_id == client_id and o.status in OPEN_STATUSES
            for o in self.orders
        ):
            raise BinanceError(-2010, "Duplicate order sent.")
        return client_id

    def _new_order(self, account, rules, params, client_id, market, now, funded=True) -> Order:
        order_type, side = params["type"], params["side"]
        price, tif = None, None
        if order_type == "MARKET":
            quantity = decimal_param(params, "quantity", required=False)
            quote = decimal_param(params, "quoteOrderQty", required=False)
            if quantity is None and quote is None:
                raise BinanceError(
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                )
            if quantity is None:
                quantity = (quote / market / rules.step_size).to_integral_value(ROUND_DOWN)
                quantity *= rules.step_size
        else:
            quantity = decimal_param(params, "quantity")
            price = decimal_param(params, "price")
            if order_type in ("LIMIT", *STOP_TYPES):
                tif = params.get("timeInForce")
                if not tif:
                    raise mandatory("timeInForce")
                if tif not in ("GTC", "IOC", "FOK"):
                    raise BinanceError(-1115, "Invalid timeInForce.")
        stop = decimal_param(params, "stopPrice") if order_type in STOP_TYPES else None
        rules.check(order_type, quantity, price, market)
        if stop is not None:
            rules.check(order_type, quantity, stop, market)
            below = (order_type == "STOP_LOSS_LIMIT") == (side == "SELL")
            if (stop >= market) if below else (stop <= market):
                raise BinanceError(-2010, "Stop price would trigger immediately.")
        needed = (quantity * (price or market)).quantize(EIGHT) if side == "BUY" else quantity
        if funded and account.free(rules.quote if side == "BUY" else rules.base) < needed:
            raise BinanceError(-2010, INSUFFICIENT)
        marketable = price is None or (price >= market if side == "BUY" else price <= market)
        if order_type == "LIMIT_MAKER" and marketable:
            raise BinanceError(-2010, "Order would immediately match and take.")
        return Order(
            account=account,
            order_id=next(self._order_ids),
            symbol=rules.symbol,
            client_order_id=client_id,
            side=side,
            type=order_type,
            quantity=quantity,
            price=price,
            time_in_force=tif,
            time=now,
            stop_price=stop,
        )

    def _execute(self, order: Order, rules: SymbolRules, market: Decimal, now: int) -> None:
        if order.waits_for_trigger:
            self._lock_funds(order, rules, release=False)
            return
        marketable = order.price is None or (
            order.price >= market if order.side == "BUY" else order.price <= market
        )
        if marketable:
            self._fill(order, rules, market, maker=False, now=now, from_locked=False)
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
        else:
            self._lock_funds(order, rules, release=False)

    def _lock_funds(self, order: Order, rules: SymbolRules, release: bool) -> None:
        sign = -1 if release else 1
        if order.side == "BUY":
            amount = (order.quantity * order.price).quantize(EIGHT)
            order.account.move(rules.quote, free=-sign * amount, locked=sign * amount)
        else:
            order.account.move(
                rules.base, free=-sign * order.quantity, locked=sign * order.quantity
            )

    def _fill(self, order, rules, price, *, maker: bool, now: int, from_locked: bool) -> None:
        account, quantity = order.account, order.quantity
        notional = (quantity * price).quantize(EIGHT)
        if order.side == "BUY":
            commission, asset = (quantity * self.fee_rate).quantize(EIGHT), rules.base
            account.move(rules.quote, **{"locked" if from_locked else "free": -notional})
            account.move(rules.base, free=quantity - commission)
        else:
            commission, asset = (notional * self.fee_rate).quantize(EIGHT), rules.quote
            account.move(rules.base, **{"locked" if from_locked else "free": -quantity})
            account.move(rules.quote, free=notional - commission)
        trade = Trade(
            id=next(self._trade_ids),
            order_id=order.order_id,
            symbol=order.symbol,
            price=price,
            qty=quantity,
            commission=commission,
            commission_asset=asset,
            time=now,
            is_buyer=order.side == "BUY",
            is_maker=maker,
        )
        order.trades.append(trade)
        order.executed, order.quote_executed = quantity, notional
        order.status, order.update_time = "FILLED", now

    def _match_resting(self, symbol: str, low: Decimal, high: Decimal, now: int) -> None:
        rules = self.rules[symbol]
        for order in self.orders:  # stops first: a triggered OCO leg expires its sibling
            if order.symbol != symbol or order.status not in OPEN_STATUSES:
                continue
            if order.waits_for_trigger and _reached(order, low, high):
                order.triggered, order.update_time = True, now
                if order.order_list is not None:
                    order_lists.one_leg_done(order, now)
        for order in self.orders:
            if (
                order.symbol != symbol
                or order.status not in OPEN_STATUSES
                or order.waits_for_trigger
            ):
                continue
            if order.order_list is not None and order.type == "LIMIT_MAKER":
                if high >= order.price:
                    order_lists.one_leg_done(order, now)
                else:
                    continue
            if (order.side == "BUY" and low <= order.price) or (
                order.side == "SELL" and high >= order.price
            ):
                self._fill(order, rules, order.price, maker=True, now=now, from_locked=True)

    def find(self, account: Account, params: dict) -> Order:
        with self.lock:
            symbol = self.rules_for(params.get("symbol")).symbol
            order_id, client_id = query_int(params, "orderId"), params.get("origClientOrderId")
            if order_id is None and not client_id:
                raise BinanceError(
                    -1102,
                    "Param 'origClientOrderId' or 'orderId' must be sent, "
                    "but both were empty/null!",
                )
            for order in reversed(self.orders):
                if (
                    order.account is account
                    and order.symbol == symbol
                    and (
                        order.order_id == order_id
                        if order_id is not None
                        else order.client_order_id == client_id
                    )
                ):
                    return order
        raise BinanceError(-2013, "Order does not exist.")

    def cancel(self, account: Account, params: dict, now: int) -> tuple[Order, str]:
        with self.lock:
            try:
                order = self.find(account, params)
            except BinanceError as error:
                if error.code == -2013:
                    raise BinanceError(-2011, "Unknown order sent.") from None
                raise
            if order.status not in OPEN_STATUSES:
                raise BinanceError(-2011, "Unknown order sent.")
            if order.order_list is not None:  # a leg: Binance cancels the whole list
                order_lists.cancel(self, order.order_list, now)
                return order, params.get("newClientOrderId") or new_client_order_id()
            self._lock_funds(order, self.rules[order.symbol], release=True)
            order.status, order.update_time = "CANCELED", now
            return order, params.get("newClientOrderId") or new_client_order_id()

    def open_orders(self, account: Account, symbol: str | None) -> list[Order]:
        with self.lock:
            if symbol:
                self.rules_for(symbol)
            return [
                o
                for o in self.orders
                if o.account is account and o.status in OPEN_STATUSES and symbol in (None, o.symbol)
            ]

    def all_orders(self, account: Account, params: dict) -> list[Order]:
        with self.lock:
            symbol = self.rules_for(params.get("symbol")).symbol
            from_id, start, end = (
                query_int(params, "orderId"),
                query_int(params, "startTime"),
                query_int(params, "endTime"),
            )
            found = [
                o
                for o in self.orders
                if o.account is account
                and o.symbol == symbol
                and (from_id is None or o.order_id >= from_id)
                and (start is None or o.time >= start)
                and (end is None or o.time <= end)
            ]
        limit = query_limit(params)
        return found[:limit] if from_id is not None or start is not None else found[-limit:]

    def my_trades(self, account: Account, params: dict) -> list[Trade]:
        with self.lock:
            symbol = self.rules_for(params.get("symbol")).symbol
            order_id, from_id = query_int(params, "orderId"), query_int(params, "fromId")
            start, end = query_int(params, "startTime"), query_int(params, "endTime")
            found = [
                t
                for o in self.orders
                if o.account is account and o.symbol == symbol
                for t in o.trades
                if (order_id is None or t.order_id == order_id)
                and (from_id is None or t.id >= from_id)
                and (start is None or t.time >= start)
                and (end is None or t.time <= end)
            ]
        found.sort(key=lambda t: t.id)
        limit = query_limit(params)
        return found[:limit] if from_id is not None or start is not None else found[-limit:]
