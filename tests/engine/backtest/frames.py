"""Random candles and signal frames for the backtest core's tests: prices of 8 decimals on
a random walk, buys, sells, stops and take-profits anywhere (stops and targets as floats
with all their digits, as an ATR stop is)."""

from decimal import Decimal

import numpy as np

from botdesk.engine.backtest import reference
from botdesk.engine.backtest.metrics import equity_figures
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.frames import CandleFrame, SignalFrame


def random_candles(rng: np.random.Generator, count: int, price: float) -> CandleFrame:
    steps = rng.normal(0, 0.02, count)
    close = np.round(price * np.exp(np.cumsum(steps)), 8)
    close = np.maximum(close, 1e-8)
    open_ = np.round(np.r_[price, close[:-1]] * (1 + rng.normal(0, 0.003, count)), 8)
    open_ = np.maximum(open_, 1e-8)
    high = np.round(np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, count)), 8)
    low = np.round(np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, count)), 8)
    low = np.clip(low, 1e-8, np.minimum(open_, close))
    times = 1_700_000_000_000 + 60_000 * np.arange(count, dtype=np.int64)
    return CandleFrame.from_arrays(times, open_, high, low, close, rng.uniform(0, 10, count))


def random_signals(rng: np.random.Generator, candles: CandleFrame) -> SignalFrame:
    count = len(candles)
    side = rng.choice(np.array([-1, 0, 1], dtype=np.int8), count, p=[0.2, 0.5, 0.3])
    buys = side == 1
    stop = np.where(
        rng.random(count) < 0.6, candles.close * (1 - rng.uniform(0.0001, 0.05, count)), np.nan
    )
    target = np.where(
        rng.random(count) < 0.4, candles.close * (1 + rng.uniform(0.0001, 0.05, count)), np.nan
    )
    return SignalFrame(
        side=side,
        confidence=np.where(side != 0, 1.0, 0.0),
        stop=np.where(buys, stop, np.nan),
        take_profit=np.where(buys, target, np.nan),
        reason=np.full(count, "", dtype=object),
    )


def both(candles: CandleFrame, signals: SignalFrame, **costs):
    """(the Decimal reference's simulation, the compiled core's)."""
    return reference.simulate(candles, signals, **costs), simulate(candles, signals, **costs)


def assert_same(expected, actual) -> None:
    """Every trade, the equity at every close and the totals, to the last unit."""
    assert [tuple(t) for t in actual.trades] == [tuple(t) for t in expected.trades]
    assert actual.table.equals(expected.table)
    assert np.array_equal(actual.equity, expected.equity)
    assert (actual.final_equity, actual.fees, actual.refused) == (
        expected.final_equity,
        expected.fees,
        expected.refused,
    )
    assert isinstance(actual.final_equity, Decimal)
    # the equity figures' first pass, made by the core as it wrote the equity
    assert actual.figures == equity_figures(expected.equity)


def with_random_limits(rng: np.random.Generator, signals: SignalFrame, closes) -> SignalFrame:
    """The same signals, about half of them asking for a limit order: a buy up to 3 %
    below the close (some above it), a sell up to 3 % above (some below), good for 0
    (until cancelled), 1, 2 or 5 candles; prices with all their float digits."""
    count = len(signals)
    asks = (signals.side != 0) & (rng.random(count) < 0.5)
    offset = rng.uniform(-0.005, 0.03, count)
    price = np.where(signals.side == 1, closes * (1 - offset), closes * (1 + offset))
    return SignalFrame(
        signals.side,
        signals.confidence,
        signals.stop,
        signals.take_profit,
        signals.reason,
        np.where(asks, price, np.nan),
        np.where(asks, rng.choice(np.array([0, 1, 2, 5]), count), 0),
    )
