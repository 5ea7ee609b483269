"""Classic indicators, computed by TA-Lib (the C library bundled in the `TA-Lib` wheel).

Every function takes numpy arrays of equal length (any float-convertible dtype), returns
float64 arrays of the same length, and puts NaN where there is not yet enough history (the
"look-back"). Index t only ever uses inputs 0..t: no function looks ahead. The recursive
ones (EMA, RSI, ATR, ADX, MACD) start from a seed, so their first values depend on where
the input starts; after about four periods the difference is below a tenth of a percent.
"""

import numpy as np
import talib

from botdesk.engine.indicators.shared import shared


def _series(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


@shared
def sma(close, period: int = 20) -> np.ndarray:
    """Simple moving average: the mean of close[t-period+1 .. t]. Look-back period-1."""
    return talib.SMA(_series(close), timeperiod=period)


@shared
def ema(close, period: int = 20) -> np.ndarray:
    """Exponential moving average, k = 2/(period+1): ema[t] = ema[t-1] + k*(close[t]-ema[t-1]).

    Seeded with the simple mean of the first `period` closes (TA-Lib's classic seed), so the
    first value is at index period-1.
    """
    return talib.EMA(_series(close), timeperiod=period)


@shared
def rsi(close, period: int = 14) -> np.ndarray:
    """Wilder's relative strength index in 0..100: 100 - 100/(1 + avg gain/avg loss).

    Gains and losses are close-to-close changes; their averages start as simple means over
    the first `period` changes and are then smoothed as avg = (avg*(period-1) + x)/period.
    First value at index `period`.
    """
    return talib.RSI(_series(close), timeperiod=period)


@shared
def macd(close, fast: int = 12, slow: int = 26, signal: int = 9):
    """(macd, signal, histogram): macd = EMA(fast) - EMA(slow), signal = EMA(signal) of
    macd, histogram = macd - signal. As TA-Lib does, the fast EMA is seeded on closes
    slow-fast .. slow-1 so both EMAs start at index slow-1, the signal EMA is seeded on
    the first `signal` macd values, and all three are reported from index slow+signal-2."""
    line, signal_line, histogram = talib.MACD(
        _series(close), fastperiod=fast, slowperiod=slow, signalperiod=signal
    )
    return line, signal_line, histogram


@shared
def bollinger_bands(close, period: int = 20, stddev: float = 2.0):
    """(upper, middle, lower): middle = SMA(period); upper/lower = middle ± stddev x the
    population standard deviation of the same `period` closes. Look-back period-1."""
    upper, middle, lower = talib.BBANDS(
        _series(close), timeperiod=period, nbdevup=stddev, nbdevdn=stddev, matype=0
    )
    return upper, middle, lower


@shared
def atr(high, low, close, period: int = 14) -> np.ndarray:
    """Wilder's average true range. True range[t] = max(high-low, |high-close[t-1]|,
    |low-close[t-1]|); the first ATR (index `period`) is the mean of the first `period` true
    ranges, then atr = (atr*(period-1) + tr)/period."""
    return talib.ATR(_series(high), _series(low), _series(close), timeperiod=period)


@shared
def adx(high, low, close, period: int = 14) -> np.ndarray:
    """Wilder's average directional index in 0..100: the smoothed mean of
    DX = 100*|+DI - -DI|/(+DI + -DI), where ±DI are Wilder-smoothed directional movements
    over ATR. Strength of a trend, not its direction. First value at index 2*period-1."""
    return talib.ADX(_series(high), _series(low), _series(close), timeperiod=period)


@shared
def stochastic(high, low, close, k_period: int = 14, k_smooth: int = 3, d_period: int = 3):
    """(%K, %D), the slow stochastic in 0..100. Raw %K = 100*(close - lowest low)/(highest
    high - lowest low) over `k_period` candles; %K is its `k_smooth` SMA; %D the `d_period`
    SMA of %K. First value at index k_period+k_smooth+d_period-3."""
    slow_k, slow_d = talib.STOCH(
        _series(high),
        _series(low),
        _series(close),
        fastk_period=k_period,
        slowk_period=k_smooth,
        slowk_matype=0,
        slowd_period=d_period,
        slowd_matype=0,
    )
    return slow_k, slow_d


@shared
def obv(close, volume) -> np.ndarray:
    """On-balance volume: obv[0] = volume[0]; then + volume when the close rises, - volume
    when it falls, unchanged when it is flat. No look-back."""
    return talib.OBV(_series(close), _series(volume))
