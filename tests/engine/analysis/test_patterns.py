"""Candlestick patterns (TA-Lib) on real BTCUSDT 1m klines (2024-10-28 from 00:00 UTC)."""

import numpy as np
import talib

from botdesk.engine.analysis import candle_patterns
from botdesk.engine.analysis.patterns import CODES, WARM_UP
from botdesk.engine.klines import load_klines
from botdesk.engine.sample_data import sample_file

BTC = load_klines(sample_file("BTCUSDT")).candles[:600]


def test_patterns_are_talibs_with_directions():
    found = candle_patterns(BTC.open, BTC.high, BTC.low, BTC.close)
    engulfing = talib.CDLENGULFING(BTC.open, BTC.high, BTC.low, BTC.close)
    row = CODES.index("CDLENGULFING")
    assert np.array_equal(found.values[row, WARM_UP:], engulfing[WARM_UP:])
    listed = found.found()
    assert all(p.index >= WARM_UP for p in listed)
    first = next(p for p in listed if p.code == "CDLENGULFING")
    assert first.name == "Engulfing Pattern"
    assert first.direction == np.sign(engulfing[first.index]) != 0
    doji = [p for p in listed if p.code == "CDLDOJI"]
    assert doji and all(p.direction == 0 for p in doji)  # indecision: no direction
    assert [p.index for p in found.found(590)] == sorted(p.index for p in found.found(590))
    assert all(p.index >= 590 for p in found.found(590))
