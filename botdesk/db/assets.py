"""A symbol's two assets (BTCUSDT: base BTC, quote USDT), as Binance names them: what the
books hold of each (cash in the quote asset, positions in the base asset) and what an
account holds are compared asset by asset."""

QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "EUR", "TRY", "BTC", "ETH", "BNB")


def quote_asset(symbol: str) -> str:
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return quote
    return "USDT"


def base_asset(symbol: str) -> str:
    return symbol[: -len(quote_asset(symbol))]
