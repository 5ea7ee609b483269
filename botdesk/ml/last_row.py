"""The feature columns of a slice's last candle only, for the live candle (structure
columns aside: `structure_reader` carries those).

`last_row(part, candle_ms)` is `feature_columns.all_columns(part, candle_ms)` at the last
candle of `part` (a slice of `feature_set`), to the last digit, without the other rows:

- the recursive indicators (EMA, RSI, ADX, stochastic, MACD, ATR, Bollinger bands, OBV,
  the volume SMA) are the engine's own TA-Lib calls over the whole slice, as
  `feature_columns.classic` makes them (their value at t depends on where the slice starts,
  and in C the slice costs microseconds); only their last value is read;
- the columns of a fixed window (returns, volatility, rolling means, the candle's shape)
  are `feature_columns`' own helpers over the last candles they read; the day's VWAP over
  the candles since the later of the UTC day's start and the slice's start (its sums
  restart there, so the tail gives the same sums);
- the volume profile, order flow, higher timeframe and calendar columns are
  `feature_columns`' functions, asked for the last row.

The arithmetic of a column at t is `classic`'s (the same IEEE operations on the same
values); tests/ml/test_last_row.py compares every column candle after candle on the
shared klines, with and without order flow, and cuts the history to check causality.
"""

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import (
    adx,
    atr,
    bollinger_bands,
    ema,
    macd,
    obv,
    rsi,
    sma,
    stochastic,
    vwap,
)
from botdesk.engine.indicators.vwap import DAY_MS
from botdesk.ml import feature_columns
from botdesk.ml.feature_columns import _log_return, _rolling_mean, _rolling_std

RETURNS = (1, 4, 12, 24)
TAIL = 25  # the closes of the 24 one-candle returns of volatility_24


def _ratio(numerator, denominator):
    """`feature_columns._ratio` of two numbers."""
    return numerator / denominator if denominator != 0 else np.nan


def classic(part: CandleFrame) -> dict[str, float]:
    """`feature_columns.classic(part)` at its last candle (numpy's float64 scalars: the
    arithmetic of its arrays, division by zero and NaN included)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _classic(part)


def _classic(part: CandleFrame) -> dict[str, float]:
    high, low, close, volume, opened = part.high, part.low, part.close, part.volume, part.open
    last = close[-1]
    ema20, ema50 = ema(close, 20)[-1], ema(close, 50)[-1]
    upper, middle, lower = (band[-1] for band in bollinger_bands(close, 20, 2.0))
    stoch_k, stoch_d = (line[-1] for line in stochastic(high, low, close, 14, 3, 3))
    on_balance = obv(close, volume)
    tail = close[-TAIL:]
    span = high[-1] - low[-1]
    flat = span <= 0
    days = part.open_time_ms // DAY_MS
    day = slice(int(np.searchsorted(days, days[-1])), None)  # the day's candles in the slice
    session = vwap(high[day], low[day], close[day], volume[day], part.open_time_ms[day])
    columns = {f"ret_{k}": _log_return(tail, k)[-1] for k in RETURNS}
    columns |= {
        "volatility_24": _rolling_std(_log_return(tail, 1), 24)[-1],
        "ema_dist_20": last / ema20 - 1,
        "ema_dist_50": last / ema50 - 1,
        "ema_20_50": ema20 / ema50 - 1,
        "rsi_14": rsi(close, 14)[-1],
        "adx_14": adx(high, low, close, 14)[-1],
        "stoch_k": stoch_k,
        "stoch_d": stoch_d,
        "macd_hist": macd(close, 12, 26, 9)[2][-1] / last,
        "atr_pct": atr(high, low, close, 14)[-1] / last,
        "bb_pctb": _ratio(last - lower, upper - lower),
        "bb_width": _ratio(upper - lower, middle),
        "obv_slope_12": _ratio(
            on_balance[-1] - on_balance[-13], _rolling_mean(volume[-12:], 12)[-1] * 12
        ),
        "volume_ratio_20": _ratio(volume[-1], sma(volume, 20)[-1]),
        "range_pct": span / last,
        "body": 0.0 if flat else _ratio(last - opened[-1], span),
        "upper_wick": 0.0 if flat else _ratio(high[-1] - np.maximum(opened[-1], last), span),
        "lower_wick": 0.0 if flat else _ratio(np.minimum(opened[-1], last) - low[-1], span),
        "vwap_dist": last / session[-1] - 1,
    }
    return columns


def last_row(part: CandleFrame, candle_ms: int) -> dict[str, float]:
    """Every column but the structure ones at `part`'s last candle (see the module doc)."""
    last = len(part) - 1
    arrays = (
        feature_columns.profile(part, last)
        | feature_columns.flow(part)
        | feature_columns.higher(part, candle_ms)
        | feature_columns.calendar(part[last:])
    )
    return classic(part) | {name: values[-1] for name, values in arrays.items()}
