"""Symbol filters from exchangeInfo: rounding to the step and tick, clear refusals."""

from decimal import Decimal

import pytest

from botdesk.engine.brokers.binance_filters import FilterRefused, SymbolFilters
from botdesk.engine.brokers.binance_wire import plain

BTC = SymbolFilters.from_exchange_info(
    {
        "symbol": "BTCUSDT",
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01",
                "maxPrice": "1000000.00",
                "tickSize": "0.01",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001",
                "maxQty": "9000",
                "stepSize": "0.00001",
            },
            {"filterType": "NOTIONAL", "minNotional": "5.00", "applyMinToMarket": True},
        ],
    }
)
OLD_STYLE = SymbolFilters.from_exchange_info(
    {
        "symbol": "XRPUSDT",
        "baseAsset": "XRP",
        "quoteAsset": "USDT",
        "filters": [
            {"filterType": "LOT_SIZE", "minQty": "1", "maxQty": "90000", "stepSize": "1"},
            {"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": False},
        ],
    }
)


def apply(filters, quantity, price=None, reference="60000"):
    return filters.apply(
        market=price is None,
        quantity=Decimal(quantity),
        price=Decimal(price) if price is not None else None,
        reference_price=Decimal(reference),
    )


def test_quantity_rounds_down_to_the_step_and_price_to_the_tick():
    assert apply(BTC, "0.00123999") == (Decimal("0.00123"), None)
    assert apply(BTC, "0.001", price="60000.129") == (Decimal("0.00100"), Decimal("60000.12"))
    assert plain(Decimal("0.00100")) == "0.001" and plain(Decimal("60000.00")) == "60000"


@pytest.mark.parametrize(
    ("quantity", "price", "message"),
    [
        ("0.000009", None, "below the minimum 0.00001 (LOT_SIZE"),
        ("9001", None, "above the maximum 9000"),
        ("0.00008", None, "order value 4.80 USDT is below the minimum 5.00 (NOTIONAL)"),
        ("0.001", "0.001", "outside 0.01 to 1000000.00 (PRICE_FILTER"),
    ],
)
def test_refusals_say_which_filter_and_why(quantity, price, message):
    with pytest.raises(FilterRefused) as refused:
        apply(BTC, quantity, price)
    assert message in str(refused.value)


def test_min_notional_of_the_older_filter_and_its_market_exemption():
    assert apply(OLD_STYLE, "3.7", reference="0.5") == (Decimal("3"), None)  # market: exempt
    with pytest.raises(FilterRefused, match="below the minimum 10"):
        apply(OLD_STYLE, "3", price="0.5")


def test_a_symbol_that_is_not_trading_is_refused():
    halted = SymbolFilters(symbol="ABCUSDT", base_asset="ABC", quote_asset="USDT", trading=False)
    with pytest.raises(FilterRefused, match="not trading"):
        apply(halted, "1")
