"""Market data feeds: closed 1m candles per symbol, replayed or from Binance."""
