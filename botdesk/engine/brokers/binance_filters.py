"""A Binance symbol's trading filters (exchangeInfo), applied before an order is sent.

The quantity is rounded down to the LOT_SIZE step and a limit price to the PRICE_FILTER
tick (Binance refuses anything else with -1013); an order that is still outside the
filters after rounding is refused here with a message saying which rule and by how much,
so the operator reads "quantity 0.000004 is below the minimum 0.00001 BTC" instead of
"Filter failure: LOT_SIZE".
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)


class FilterRefused(ValueError):
    """The order breaks one of the symbol's filters; the message says which and why."""


@dataclass(frozen=True)
class SymbolFilters:
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal = ZERO
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO
    step_size: Decimal = ZERO
    min_qty: Decimal = ZERO
    max_qty: Decimal = ZERO
    min_notional: Decimal = ZERO
    notional_applies_to_market: bool = True
    trading: bool = True

    @classmethod
    def from_exchange_info(cls, info: dict) -> "SymbolFilters":
        """From one entry of exchangeInfo's `symbols` (or `Client.get_symbol_info`)."""
        by_type = {f["filterType"]: f for f in info.get("filters", [])}
        price = by_type.get("PRICE_FILTER", {})
        lot = by_type.get("LOT_SIZE", {})
        notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {}
        applies = notional.get("applyMinToMarket", notional.get("applyToMarket", True))
        return cls(
            symbol=info["symbol"],
            base_asset=info.get("baseAsset", ""),
            quote_asset=info.get("quoteAsset", ""),
            tick_size=Decimal(price.get("tickSize", "0")),
            min_price=Decimal(price.get("minPrice", "0")),
            max_price=Decimal(price.get("maxPrice", "0")),
            step_size=Decimal(lot.get("stepSize", "0")),
            min_qty=Decimal(lot.get("minQty", "0")),
            max_qty=Decimal(lot.get("maxQty", "0")),
            min_notional=Decimal(notional.get("minNotional", "0")),
            notional_applies_to_market=bool(applies),
            trading=info.get("status", "TRADING") == "TRADING",
        )

    def round_quantity(self, quantity: Decimal) -> Decimal:
        """Down to a whole number of steps above the minimum (what LOT_SIZE accepts)."""
        if self.step_size <= 0:
            return quantity
        base = self.min_qty if quantity >= self.min_qty else ZERO
        steps = ((quantity - base) / self.step_size).to_integral_value(rounding=ROUND_DOWN)
        return base + steps * self.step_size

    def round_price(self, price: Decimal) -> Decimal:
        """Down to the tick (a sell's limit then never asks for more than was meant)."""
        if self.tick_size <= 0:
            return price
        steps = ((price - self.min_price) / self.tick_size).to_integral_value(rounding=ROUND_DOWN)
        return self.min_price + steps * self.tick_size

    def apply(
        self,
        *,
        market: bool,
        quantity: Decimal,
        price: Decimal | None,
        reference_price: Decimal | None,
    ) -> tuple[Decimal, Decimal | None]:
        """(quantity, price) rounded to what Binance accepts; FilterRefused otherwise.

        `price` is a limit price (None for a market order); `reference_price` is where a
        market order is expected to fill, for the minimum notional.
        """
        if not self.trading:
            raise FilterRefused(f"{self.symbol} is not trading on Binance right now")
        rounded = self.round_quantity(quantity)
        if rounded <= 0 or (self.min_qty > 0 and rounded < self.min_qty):
            raise FilterRefused(
                f"quantity {quantity} {self.base_asset} is below the minimum {self.min_qty} "
                f"(LOT_SIZE, step {self.step_size})"
            )
        if self.max_qty > 0 and rounded > self.max_qty:
            raise FilterRefused(
                f"quantity {rounded} {self.base_asset} is above the maximum {self.max_qty} "
                "(LOT_SIZE)"
            )
        if price is not None:
            if price <= 0 or price < self.min_price or (0 < self.max_price < price):
                raise FilterRefused(
                    f"price {price} is outside {self.min_price} to {self.max_price} "
                    f"(PRICE_FILTER, tick {self.tick_size})"
                )
            price = self.round_price(price)
        check_at = price if price is not None else reference_price
        if (
            self.min_notional > 0
            and check_at is not None
            and (price is not None or self.notional_applies_to_market)
            and rounded * check_at < self.min_notional
        ):
            raise FilterRefused(
                f"order value {(rounded * check_at).quantize(Decimal('0.01'))} "
                f"{self.quote_asset} is below the minimum {self.min_notional} (NOTIONAL)"
            )
        return rounded, price
