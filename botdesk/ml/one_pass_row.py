"""The live candle's feature row (structure columns aside) in a few calls: `last_row`'s
values to the last bit, at a sixth of its cost (bench/ml_predict.py).

`row(part, candle_ms)` is `last_row.last_row(part, candle_ms)` as one float64 array in
`COLUMNS`' order:

- the recursive indicators are the same TA-Lib functions over the same slice, called
  directly (TA-Lib's C functions, without the engine's wrappers that share results
  between the bots of a pass: a slice of one candle is never asked twice);
- every other column (returns, volatility, the candle's shape, the day's VWAP, the
  volume profile of the last 96 candles, the higher timeframe's buckets) is a compiled
  pass (`_columns`, then `_finish` with the TA-Lib readings) doing `feature_columns`'
  IEEE operations in the same order: numpy's sum of a few values is a pairwise sum from
  0 (`_numpy_sum`), its sums down a column and cumulative sums are sums in order, its
  `linspace` is i x step + start;
- the logarithms, sines and cosines are numpy's (its vectorized ones may round
  otherwise than the C library): the returns' logs in one call, the hour's sine and
  cosine read from a table `feature_columns.calendar` made of the day's 24 hours.

Order flow is `feature_columns.flow`, asked for the last row (NaN without taker-buy
volume, as `flow` gives it then). A slice shorter than the
compiled pass reads (WINDOW candles) goes to `last_row`. tests/ml/test_one_pass_row.py
compares every column with the full computation, candle after candle, on the shared
klines (with gaps, with and without order flow).
"""

import numpy as np
import talib as _talib
from numba import njit

from botdesk.engine.analysis.smc import MTR_PERIOD
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators.volume_profile import value_area_bins
from botdesk.engine.indicators.vwap import DAY_MS
from botdesk.ml import feature_columns, last_row
from botdesk.ml.feature_columns import HIGHER_FACTOR, PROFILE_CANDLES


class _CFunctions:
    """TA-Lib's functions without the package's wrapper (which looks for pandas and
    polars series among the arguments: ours are float64 numpy arrays)."""

    def __getattr__(self, name):
        function = getattr(_talib, name)
        function = getattr(function, "__wrapped__", function)
        setattr(self, name, function)
        return function


talib = _CFunctions()
# IEEE division (inf or NaN as in numpy), not Python's ZeroDivisionError
compiled = njit(cache=True, error_model="numpy")
HOUR_MS = 3_600_000
WINDOW = PROFILE_CANDLES  # the most candles a fixed-window column reads (the profile's)
BINS, VALUE_AREA = 24, 0.70  # `volume_profile`'s defaults, as `profile` calls it
_FLOW = tuple(feature_columns.flow(CandleFrame.empty()))  # its columns, in its order
COLUMNS = (  # `row`'s order
    "ret_1",
    "ret_4",
    "ret_12",
    "ret_24",
    "volatility_24",
    "ema_dist_20",
    "ema_dist_50",
    "ema_20_50",
    "rsi_14",
    "adx_14",
    "stoch_k",
    "stoch_d",
    "macd_hist",
    "atr_pct",
    "bb_pctb",
    "bb_width",
    "obv_slope_12",
    "volume_ratio_20",
    "range_pct",
    "body",
    "upper_wick",
    "lower_wick",
    "vwap_dist",
    "poc_dist",
    "vah_dist",
    "val_dist",
    "htf_ret_1",
    "htf_rsi_14",
    "htf_ema_dist_20",
    "hour_sin",
    "hour_cos",
    "weekday",
    *_FLOW,
)
FLOW_AT = COLUMNS.index(_FLOW[0])
# the TA-Lib readings `_finish` takes, in its order
_READINGS = (
    "ema20",
    "ema50",
    "upper",
    "middle",
    "lower",
    "stoch_k",
    "stoch_d",
    "obv_change",
    "mtr",
    "rsi",
    "adx",
    "macd_hist",
    "atr",
    "volume_sma",
    "htf_rsi",
    "htf_ema",
)


@compiled
def _numpy_sum(values, start, count):
    """numpy's sum of values[start:start+count] (contiguous): its pairwise sum, which
    under 128 values is eight running sums added as a tree, the rest after, from 0."""
    if count < 8:
        total = -0.0
        for i in range(count):
            total += values[start + i]
        return 0.0 + total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    while i < count - count % 8:
        at = start + i
        r0 += values[at]
        r1 += values[at + 1]
        r2 += values[at + 2]
        r3 += values[at + 3]
        r4 += values[at + 4]
        r5 += values[at + 5]
        r6 += values[at + 6]
        r7 += values[at + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[start + i]
        i += 1
    return 0.0 + total


@compiled
def _std(values):
    """numpy's `values.std()` (population): the mean, then the mean of the squared
    deviations, its square root."""
    count = len(values)
    mean = _numpy_sum(values, 0, count) / count
    squares = np.empty(count)
    for i in range(count):
        deviation = values[i] - mean
        squares[i] = deviation * deviation
    return np.sqrt(_numpy_sum(squares, 0, count) / count)


@compiled
def _ratio(numerator, denominator):
    return numerator / denominator if denominator != 0 else np.nan


@compiled
def _profile(high, low, volume, last, out):
    """`volume_profile` of these candles (24 bins, 70 %): last - its POC, value area high
    and value area low into out[0..2] (the columns divide them by the mean true range)."""
    bottom, top = low.min(), high.max()
    if top == bottom:
        poc, value_high, value_low = top, top, bottom
    else:
        step = (top - bottom) / BINS
        edges = np.empty(BINS + 1)
        for i in range(BINS + 1):
            edges[i] = i * step + bottom
        edges[BINS] = top
        ranged_sum = np.zeros(BINS)
        flat_sum = np.zeros(BINS)
        first = True
        for c in range(len(high)):
            if high[c] > low[c]:
                width = high[c] - low[c]
                for b in range(BINS):
                    overlap = min(high[c], edges[b + 1]) - max(low[c], edges[b])
                    share = max(overlap, 0.0) / width * volume[c]
                    ranged_sum[b] = share if first else ranged_sum[b] + share
                first = False
            else:  # searchsorted(edges, high, "right") - 1, clipped to the bins
                b = np.searchsorted(edges, high[c], side="right") - 1
                b = min(max(b, 0), BINS - 1)
                flat_sum[b] += volume[c]
        per_bin = ranged_sum + flat_sum
        poc_bin = int(np.argmax(per_bin))
        target = VALUE_AREA * _numpy_sum(per_bin, 0, BINS)
        below, above, _ = value_area_bins(per_bin, poc_bin, target)
        poc = (edges[poc_bin] + edges[poc_bin + 1]) / 2
        value_high, value_low = edges[above + 1], edges[below]
    out[0] = last - poc
    out[1] = last - value_high
    out[2] = last - value_low


@compiled
def _columns(opened, high, low, close, volume, times, candle_ms, out, ratios, bucket_closes):
    """The last candle's range_pct, body, upper_wick, lower_wick, vwap_dist, the volume of
    its 12 candles (obv_slope_12's denominator) and the profile's distances before the
    division by the mean true range, into out[0..8]; the price ratios whose logs are the
    returns into `ratios` (the 24 one-candle ones, then close / close k candles back for
    k = 4, 12, 24, then the higher timeframe's last one), and the closes of the higher
    timeframe's kept buckets into `bucket_closes`; returns how many buckets were kept."""
    n = len(close)
    last = close[n - 1]
    for i in range(24):
        ratios[i] = close[n - 24 + i] / close[n - 25 + i]
    ratios[24] = last / close[n - 5]
    ratios[25] = last / close[n - 13]
    ratios[26] = last / close[n - 25]
    span = high[n - 1] - low[n - 1]
    flat = span <= 0
    out[0] = span / last
    out[1] = 0.0 if flat else _ratio(last - opened[n - 1], span)
    out[2] = 0.0 if flat else _ratio(high[n - 1] - max(opened[n - 1], last), span)
    out[3] = 0.0 if flat else _ratio(min(opened[n - 1], last) - low[n - 1], span)
    # the UTC day's VWAP: sums in order from the day's (or the slice's) first candle
    day = times[n - 1] // DAY_MS
    first = n - 1
    while first > 0 and times[first - 1] // DAY_MS == day:
        first -= 1
    summed_volume = summed_weighted = 0.0
    for i in range(first, n):
        weighted = (high[i] + low[i] + close[i]) / 3.0 * volume[i]
        summed_volume = volume[i] if i == first else summed_volume + volume[i]
        summed_weighted = weighted if i == first else summed_weighted + weighted
    session = summed_weighted / summed_volume if summed_volume > 0 else np.nan
    out[4] = last / session - 1
    out[5] = _numpy_sum(volume, n - 12, 12) / 12 * 12
    _profile(high[n - WINDOW :], low[n - WINDOW :], volume[n - WINDOW :], last, out[6:])
    # the higher timeframe: buckets closed by their last candle's close, the first dropped
    bucket_ms = candle_ms * HIGHER_FACTOR
    kept = 0
    start = 0
    seen_first = False
    for end in range(n):
        if end + 1 < n and times[end + 1] // bucket_ms == times[end] // bucket_ms:
            continue
        closes_at = (times[start] // bucket_ms + 1) * bucket_ms
        if closes_at <= times[end] + candle_ms:
            if seen_first:
                bucket_closes[kept] = close[end]
                kept += 1
            seen_first = True
        start = end + 1
    ratios[27] = bucket_closes[kept - 1] / bucket_closes[kept - 2] if kept > 1 else np.nan
    return kept


def _hours() -> tuple[np.ndarray, np.ndarray]:
    """hour_sin, hour_cos by the UTC hour, as `feature_columns.calendar` computes them."""
    times = np.arange(24, dtype=np.int64) * HOUR_MS
    prices = np.ones(24)
    day = feature_columns.calendar(CandleFrame.from_arrays(times, *[prices] * 5))
    return day["hour_sin"], day["hour_cos"]


HOUR_SIN, HOUR_COS = _hours()


@compiled
def _finish(
    out, logs, readings, bucket_closes, kept, last, volume_last, hour_sin, hour_cos, weekday, values
):
    """The row in `COLUMNS`' order (order flow aside) from the compiled pass's `out`,
    the returns' logs and the TA-Lib readings (`_READINGS`' order)."""
    ema20, ema50, mtr = readings[0], readings[1], readings[8]
    upper, middle, lower = readings[2], readings[3], readings[4]
    values[0], values[1], values[2], values[3] = logs[23], logs[24], logs[25], logs[26]
    values[4] = _std(logs[:24])
    values[5] = last / ema20 - 1
    values[6] = last / ema50 - 1
    values[7] = ema20 / ema50 - 1
    values[8], values[9] = readings[9], readings[10]
    values[10], values[11] = readings[5], readings[6]
    values[12] = readings[11] / last
    values[13] = readings[12] / last
    values[14] = _ratio(last - lower, upper - lower)
    values[15] = _ratio(upper - lower, middle)
    values[16] = _ratio(readings[7], out[5])
    values[17] = _ratio(volume_last, readings[13])
    for i in range(5):
        values[18 + i] = out[i]
    for i in range(3):
        values[23 + i] = out[6 + i] / mtr
    values[26] = logs[27] if kept > 1 else np.nan
    values[27] = readings[14] if kept else np.nan
    values[28] = bucket_closes[kept - 1] / readings[15] - 1 if kept else np.nan
    values[29], values[30], values[31] = hour_sin, hour_cos, weekday


def row(part: CandleFrame, candle_ms: int) -> np.ndarray:
    """`last_row.last_row(part, candle_ms)` as an array in `COLUMNS`' order."""
    if len(part) <= WINDOW:
        found = last_row.last_row(part, candle_ms)
        return np.array([found[name] for name in COLUMNS])
    high, low, close, volume = part.high, part.low, part.close, part.volume
    times = part.open_time_ms
    out = np.empty(9)
    ratios = np.empty(28)
    bucket_closes = np.empty(len(part))
    kept = _columns(
        part.open, high, low, close, volume, times, candle_ms, out, ratios, bucket_closes
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(ratios)
    closes = bucket_closes[:kept]
    on_balance = talib.OBV(close, volume)
    bands = talib.BBANDS(close, 20, 2.0, 2.0, 0)
    stochastic = talib.STOCH(high, low, close, 14, 3, 0, 3, 0)
    readings = np.array(
        [
            talib.EMA(close, 20)[-1],
            talib.EMA(close, 50)[-1],
            bands[0][-1],
            bands[1][-1],
            bands[2][-1],
            stochastic[0][-1],
            stochastic[1][-1],
            on_balance[-1] - on_balance[-13],
            talib.SMA(talib.TRANGE(high, low, close), MTR_PERIOD)[-1],
            talib.RSI(close, 14)[-1],
            talib.ADX(high, low, close, 14)[-1],
            talib.MACD(close, 12, 26, 9)[2][-1],
            talib.ATR(high, low, close, 14)[-1],
            talib.SMA(volume, 20)[-1],
            talib.RSI(closes, 14)[-1] if kept else np.nan,
            talib.EMA(closes, 20)[-1] if kept else np.nan,
        ]
    )
    hour = int(times[-1]) // HOUR_MS % 24
    weekday = float((int(times[-1]) // DAY_MS + 3) % 7)  # as `calendar`
    values = np.empty(len(COLUMNS))
    _finish(
        out,
        logs,
        readings,
        bucket_closes,
        kept,
        close[-1],
        volume[-1],
        HOUR_SIN[hour],
        HOUR_COS[hour],
        weekday,
        values,
    )
    if part.has_flow:  # else `flow` gives NaN (it catches order_flow's NoOrderFlow)
        flow = feature_columns.flow(part)
        for at, name in enumerate(_FLOW, FLOW_AT):
            values[at] = flow[name][-1]
    else:
        values[FLOW_AT:] = np.nan
    return values
