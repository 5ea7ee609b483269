"""Real Binance klines for the ML tests (../shared/data); the tests skip without them."""

import pytest

from botdesk.engine.klines import load_klines
from tests.conftest import SHARED_DATA


def shared_candles(name: str):
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not there (see ../shared/data/README.md)")
    return load_klines(path).candles


@pytest.fixture(scope="session")
def btc_5m():
    """A month of BTCUSDT 5m candles with taker-buy volume (order flow)."""
    return shared_candles("BTCUSDT-5m.csv")


@pytest.fixture(scope="session")
def btc_1h():
    """BTCUSDT 1h, 2021-04 to 2023-12, five exchange outages, no taker volume."""
    return shared_candles("BTCUSDT-1h.csv")
