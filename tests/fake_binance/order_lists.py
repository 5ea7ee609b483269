"""OCO order lists on the fake exchange (`POST /api/v3/orderList/oco`, what python-binance's
`create_oco_order` sends): two sell legs sharing one quantity, an "above" leg
(LIMIT_MAKER or TAKE_PROFIT_LIMIT) and a "below" leg (STOP_LOSS_LIMIT), with Binance's
price rule for a sell (above price > last price > below stopPrice). The quantity is
locked once for the list. When one leg triggers or fills, the other expires; cancelling
one leg cancels the list (`DELETE /api/v3/order`), as does `DELETE /api/v3/orderList`.
"""

from tests.fake_binance.models import (
    OPEN_STATUSES,
    Account,
    BinanceError,
    Order,
    OrderList,
    decimal_param,
    mandatory,
    new_client_order_id,
)
from tests.fake_binance.prices import query_int

ABOVE_TYPES = ("LIMIT_MAKER", "TAKE_PROFIT_LIMIT")
BELOW_TYPES = ("STOP_LOSS_LIMIT",)


def place_oco(exchange, account: Account, params: dict, now: int) -> OrderList:
    with exchange.lock:
        rules = exchange.rules_for(params.get("symbol"))
        side = params.get("side")
        if not side:
            raise mandatory("side")
        if side != "SELL":
            raise BinanceError(-1117, "Invalid side.")  # the fake only knows protective sells
        list_id = params.get("listClientOrderId") or new_client_order_id()
        if any(
            kept.list_client_order_id == list_id and kept.status == "EXECUTING"
            for kept in exchange.order_lists
        ):
            raise BinanceError(-2010, "Duplicate order sent.")
        quantity = decimal_param(params, "quantity")
        market = exchange.paths[rules.symbol].price
        legs = []
        for prefix, allowed in (("above", ABOVE_TYPES), ("below", BELOW_TYPES)):
            leg_type = params.get(f"{prefix}Type")
            if not leg_type:
                raise mandatory(f"{prefix}Type")
            if leg_type not in allowed:
                raise BinanceError(-1116, "Invalid orderType.")
            leg = {
                "symbol": rules.symbol,
                "side": side,
                "type": leg_type,
                "quantity": str(quantity),
                "price": params.get(f"{prefix}Price"),
                "stopPrice": params.get(f"{prefix}StopPrice"),
                "timeInForce": params.get(f"{prefix}TimeInForce"),
            }
            client_id = exchange.checked_client_id(account, params.get(f"{prefix}ClientOrderId"))
            legs.append(
                exchange._new_order(account, rules, leg, client_id, market, now, funded=False)
            )
        above, below = legs
        above_level = above.stop_price if above.type == "TAKE_PROFIT_LIMIT" else above.price
        if not above_level > market > below.stop_price:
            raise BinanceError(
                -2010, "The relationship of the prices for the orders is not correct."
            )
        if account.free(rules.base) < quantity:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        order_list = OrderList(next(exchange.list_ids), list_id, rules.symbol, legs, now)
        for leg in legs:
            leg.order_list = order_list
            exchange.orders.append(leg)
        account.move(rules.base, free=-quantity, locked=quantity)
        exchange.order_lists.append(order_list)
        return order_list


def one_leg_done(leg: Order, now: int) -> None:
    """A leg triggered or fills: the others expire, the list is done."""
    order_list = leg.order_list
    for other in order_list.orders:
        if other is not leg and other.status in OPEN_STATUSES:
            other.status, other.update_time = "EXPIRED", now
    order_list.status = "ALL_DONE"


def cancel(exchange, order_list: OrderList, now: int) -> None:
    open_legs = [leg for leg in order_list.orders if leg.status in OPEN_STATUSES]
    if not open_legs or order_list.status != "EXECUTING":
        raise BinanceError(-2011, "Unknown order sent.")
    for leg in open_legs:
        leg.status, leg.update_time = "CANCELED", now
    rules = exchange.rules[order_list.symbol]
    leg = open_legs[0]
    leg.account.move(rules.base, free=leg.quantity, locked=-leg.quantity)
    order_list.status = "ALL_DONE"


def find(exchange, account: Account, params: dict, client_param: str) -> OrderList:
    with exchange.lock:
        list_id, client_id = query_int(params, "orderListId"), params.get(client_param)
        if list_id is None and not client_id:
            raise BinanceError(
                -1102,
                f"Param '{client_param}' or 'orderListId' must be sent, but both were empty/null!",
            )
        for order_list in reversed(exchange.order_lists):
            if order_list.orders[0].account is account and (
                order_list.order_list_id == list_id
                if list_id is not None
                else order_list.list_client_order_id == client_id
            ):
                return order_list
    raise BinanceError(-2018, "Order list does not exist.")


def cancel_list(exchange, account: Account, params: dict, now: int) -> OrderList:
    with exchange.lock:
        exchange.rules_for(params.get("symbol"))
        try:
            order_list = find(exchange, account, params, "listClientOrderId")
        except BinanceError as error:
            if error.code == -2018:
                raise BinanceError(-2011, "Unknown order sent.") from None
            raise
        cancel(exchange, order_list, now)
        return order_list


def open_lists(exchange, account: Account) -> list[OrderList]:
    with exchange.lock:
        return [
            order_list
            for order_list in exchange.order_lists
            if order_list.status == "EXECUTING" and order_list.orders[0].account is account
        ]
