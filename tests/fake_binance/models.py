"""What the fake exchange is made of: symbols and their filters, accounts, orders, trades,
price paths; each shown in Binance's JSON shapes, errors with Binance's codes."""

import secrets
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation

EIGHT = Decimal("0.00000001")
INTERVALS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
CLIENT_ORDER_ID = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")


class BinanceError(Exception):
    """An error answer: HTTP status and Binance's {"code", "msg"}."""

    def __init__(self, code: int, msg: str, status: int = 400):
        super().__init__(f"{code}: {msg}")
        self.code, self.msg, self.status = code, msg, status


def text(value: Decimal) -> str:
    return f"{value:.8f}"


def decimal_param(params: dict, name: str, required: bool = True) -> Decimal | None:
    raw = params.get(name)
    if raw in (None, ""):
        if required:
            raise mandatory(name)
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if not value.is_finite() or value <= 0:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    if value != value.quantize(EIGHT, rounding=ROUND_DOWN):
        raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
    return value


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


@dataclass(frozen=True)
class SymbolRules:
    """A symbol's filters, as exchangeInfo lists them and as orders are checked against."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal = Decimal("9000")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    min_notional: Decimal = Decimal("5")
    notional_filter: str = "NOTIONAL"  # or the older "MIN_NOTIONAL"

    def filters(self) -> list[dict]:
        lot = {"minQty": text(self.min_qty), "maxQty": text(self.max_qty)}
        notional = (
            {
                "filterType": "NOTIONAL",
                "minNotional": text(self.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            }
            if self.notional_filter == "NOTIONAL"
            else {
                "filterType": "MIN_NOTIONAL",
                "minNotional": text(self.min_notional),
                "applyToMarket": True,
                "avgPriceMins": 5,
            }
        )
        return [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": text(self.min_price),
                "maxPrice": text(self.max_price),
                "tickSize": text(self.tick_size),
            },
            {"filterType": "LOT_SIZE", **lot, "stepSize": text(self.step_size)},
            {"filterType": "MARKET_LOT_SIZE", **lot, "stepSize": "0.00000000"},
            notional,
        ]

    def check(self, order_type: str, quantity: Decimal, price: Decimal | None, market: Decimal):
        if price is not None and (
            not self.min_price <= price <= self.max_price
            or (price - self.min_price) % self.tick_size != 0
        ):
            raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        lot_filter = "MARKET_LOT_SIZE" if order_type == "MARKET" else "LOT_SIZE"
        if not self.min_qty <= quantity <= self.max_qty:
            raise BinanceError(-1013, f"Filter failure: {lot_filter}")
        if order_type != "MARKET" and (quantity - self.min_qty) % self.step_size != 0:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if quantity * (price if price is not None else market) < self.min_notional:
            raise BinanceError(-1013, f"Filter failure: {self.notional_filter}")


DEFAULT_RULES = {
    rules.symbol: rules
    for rules in (
        SymbolRules(
            "BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001")
        ),
        SymbolRules(
            "ETHUSDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001")
        ),
        SymbolRules("SOLUSDT", "SOL", "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("0.001")),
        SymbolRules("BNBUSDT", "BNB", "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("0.001")),
        SymbolRules(
            "XRPUSDT",
            "XRP",
            "USDT",
            Decimal("0.0001"),
            Decimal("0.1"),
            Decimal("0.1"),
            min_price=Decimal("0.0001"),
            max_qty=Decimal("9222449"),
            notional_filter="MIN_NOTIONAL",
        ),
    )
}


@dataclass(frozen=True)
class Kline:
    """One candle; the flow fields only where the source file has them (the 5m files)."""

    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal | None = None
    trades: int | None = None
    taker_buy_base_volume: Decimal | None = None
    taker_buy_quote_volume: Decimal | None = None


@dataclass
class Account:
    api_key: str
    api_secret: str
    balances: dict[str, list[Decimal]] = field(default_factory=dict)  # asset: [free, locked]

    def free(self, asset: str) -> Decimal:
        return self.balances.setdefault(asset, [Decimal(0), Decimal(0)])[0]

    def move(self, asset: str, free: Decimal = Decimal(0), locked: Decimal = Decimal(0)):
        balance = self.balances.setdefault(asset, [Decimal(0), Decimal(0)])
        balance[0] += free
        balance[1] += locked


@dataclass
class Trade:
    id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool

    def as_fill(self) -> dict:
        return {
            "price": text(self.price),
            "qty": text(self.qty),
            "commission": text(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.id,
        }

    def as_json(self) -> dict:
        return {
            "symbol": self.symbol,
            "id": self.id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": text(self.price),
            "qty": text(self.qty),
            "quoteQty": text(self.price * self.qty),
            "commission": text(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time,
            "isBuyer": self.is_buyer,
            "isMaker": self.is_maker,
            "isBestMatch": True,
        }


@dataclass
class Order:
    account: Account
    order_id: int
    symbol: str
    client_order_id: str
    side: str
    type: str
    quantity: Decimal
    price: Decimal | None
    time_in_force: str | None
    time: int
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote_executed: Decimal = Decimal(0)
    update_time: int = 0
    trades: list[Trade] = field(default_factory=list)
    stop_price: Decimal | None = None  # STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT trigger
    triggered: bool = False  # a stop order whose trigger was reached: a limit order now
    order_list: "OrderList | None" = None  # the OCO it is a leg of

    @property
    def waits_for_trigger(self) -> bool:
        return self.stop_price is not None and not self.triggered

    def as_json(self) -> dict:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": self.order_list.order_list_id if self.order_list else -1,
            "clientOrderId": self.client_order_id,
            "price": text(self.price or Decimal(0)),
            "origQty": text(self.quantity),
            "executedQty": text(self.executed),
            "cummulativeQuoteQty": text(self.quote_executed),
            "status": self.status,
            "timeInForce": self.time_in_force or "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": text(self.stop_price or Decimal(0)),
            "icebergQty": "0.00000000",
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "isWorking": self.status in OPEN_STATUSES,
            "workingTime": self.time,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }


@dataclass
class OrderList:
    """An OCO: two legs sharing one quantity; when one triggers or fills, the other
    expires."""

    order_list_id: int
    list_client_order_id: str
    symbol: str
    orders: list[Order]
    transaction_time: int
    status: str = "EXECUTING"  # listOrderStatus: EXECUTING | ALL_DONE

    def as_json(self, *, reports: bool = False) -> dict:
        done = self.status == "ALL_DONE"
        answer = {
            "orderListId": self.order_list_id,
            "contingencyType": "OCO",
            "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
            "listOrderStatus": self.status,
            "listClientOrderId": self.list_client_order_id,
            "transactionTime": self.transaction_time,
            "symbol": self.symbol,
            "orders": [
                {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
                for o in self.orders
            ],
        }
        if reports:
            answer["orderReports"] = [
                {
                    **{k: v for k, v in o.as_json().items() if k not in ("time", "isWorking")},
                    "transactTime": self.transaction_time,
                }
                for o in self.orders
            ]
        return answer


def new_client_order_id() -> str:
    return "x-" + secrets.token_hex(10)


class PricePath:
    """A symbol's candles and the cursor of the last closed one; `price` is its close."""

    def __init__(self, klines: list[Kline], start: int = 0):
        if not klines:
            raise ValueError("a price path needs at least one candle")
        self.klines = klines
        self.index = min(start, len(klines) - 1)
        self.interval = klines[1].open_time - klines[0].open_time if len(klines) > 1 else 60_000
        self.override: Decimal | None = None

    @property
    def price(self) -> Decimal:
        return self.override if self.override is not None else self.klines[self.index].close

    def closed(self) -> list[Kline]:
        return self.klines[: self.index + 1]
