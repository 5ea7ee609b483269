"""A local fake Binance (spot REST) for tests: real HTTP on 127.0.0.1, the real python-binance
client, signatures, filters, balances, and faults on demand. Test code, never shipped.

    with FakeBinance(klines={"BTCUSDT": load_klines("BTCUSDT-1m.csv", 500)}) as fake:
        client = fake.client()              # python-binance Client, testnet=True
        client.order_market_buy(symbol="BTCUSDT", quantity="0.001", newClientOrderId="bd-1")
        fake.faults.timeout()               # the next order is placed, its answer never comes
        fake.advance(5)                     # five more candles close; resting orders may fill

    FakeBinance(..., stream=True) also serves the kline websocket (`fake.stream.url`): each
    candle `advance` closes is published there (`publish=False` loses it, as a disconnection
    would; `fake.stream.drop_all()` closes every connection).
"""

from tests.fake_binance.faults import Fault, FaultPlan
from tests.fake_binance.models import BinanceError, Kline, SymbolRules
from tests.fake_binance.prices import load_klines
from tests.fake_binance.server import FakeBinance

__all__ = [
    "BinanceError",
    "FakeBinance",
    "Fault",
    "FaultPlan",
    "Kline",
    "SymbolRules",
    "load_klines",
]
