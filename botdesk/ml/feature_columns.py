"""The feature columns of the ML feature set: what a model sees at the close of candle t.

Every column is computed from the engine's own functions (TA-Lib indicators, market
structure, fair value gaps, order blocks, the dealing range, the volume profile, order flow
and a higher timeframe) over one slice of closed candles, and row t uses candles 0..t of
that slice only (the truncation tests in tests/ml/test_features.py cut the history and
compare). Prices become ratios or multiples of the mean true range, so a model trained on
one price level reads another.

Definitions (t is the candle, MTR the 14-candle mean true range, `smc.mean_true_range`):

- ret_k: log(close[t] / close[t-k]) for k = 1, 4, 12, 24; volatility_24: the standard
  deviation of the 24 one-candle log returns up to t;
- ema_dist_20, ema_dist_50: close / EMA(n) - 1; ema_20_50: EMA(20) / EMA(50) - 1;
- rsi_14, adx_14, stoch_k, stoch_d (14, 3, 3): as TA-Lib, 0..100;
- macd_hist: MACD(12, 26, 9) histogram / close; atr_pct: ATR(14) / close;
- bb_pctb: (close - lower) / (upper - lower) of the Bollinger bands (20, 2), bb_width:
  (upper - lower) / middle;
- obv_slope_12: (OBV[t] - OBV[t-12]) / the volume of those 12 candles;
- volume_ratio_20: volume / SMA(volume, 20);
- range_pct: (high - low) / close; body: (close - open) / (high - low), upper_wick and
  lower_wick: the wicks / (high - low) (0 on a candle without range);
- vwap_dist: close / the UTC day's VWAP - 1;
- trend: the market structure's trend (+1, -1, 0) with 5-candle swings; since_break: the
  candles since the latest BOS or CHoCH, capped at 100 (NaN before the first);
  last_break_choch: 1 when that break was a CHoCH, else 0;
- range_position: close's place in the dealing range (0 at its low, 1 at its high);
- fvg_bull_dist, fvg_bear_dist: (close - top of the nearest open bullish gap below) / MTR,
  (bottom of the nearest open bearish gap above - close) / MTR; a gap counts from the
  candle it is known at until the candle that filled it; NaN when there is none;
- ob_bull_dist, ob_bear_dist: the same for order blocks, from their break (formed_index)
  until they are broken;
- poc_dist, vah_dist, val_dist: (close - POC), (close - value area high), (close - value
  area low) of the volume profile (24 bins, 70 %) of the 96 candles up to t, over MTR;
- imbalance, imbalance_12 (mean of 12), cvd_change_24 (the CVD's change over 24 candles /
  their volume), absorption, exhaustion_6 (sum of the last 6), divergence_24 (direction of
  the latest CVD divergence known within 24 candles, else 0): order flow, NaN when the
  candles carry no taker-buy volume;
- htf_ret_1, htf_rsi_14, htf_ema_dist_20: the return, RSI(14) and close / EMA(20) - 1 of
  the higher timeframe (4 x the timeframe, buckets aligned to multiples of it since the
  epoch), read from its latest bucket closed by t's close;
- hour_sin, hour_cos: the UTC hour of t's open on the circle; weekday: 0 (Monday) .. 6.
"""

import numpy as np

from botdesk.engine.analysis import NoOrderFlow, dealing_range, mean_true_range, order_flow
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import (
    adx,
    atr,
    bollinger_bands,
    ema,
    fair_value_gaps,
    macd,
    market_structure,
    obv,
    order_blocks,
    rsi,
    sma,
    stochastic,
    swing_points,
    volume_profile,
    vwap,
)

SWING = 5
PROFILE_CANDLES = 96
HIGHER_FACTOR = 4
BREAK_CAP = 100


def _log_return(close: np.ndarray, k: int) -> np.ndarray:
    out = np.full(len(close), np.nan)
    if len(close) > k:
        out[k:] = np.log(close[k:] / close[:-k])
    return out


def _rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        view = np.lib.stride_tricks.sliding_window_view(values, window)
        out[window - 1 :] = view.std(axis=1)
    return out


def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        view = np.lib.stride_tricks.sliding_window_view(values, window)
        out[window - 1 :] = view.mean(axis=1)
    return out


def _change(values: np.ndarray, k: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) > k:
        out[k:] = values[k:] - values[:-k]
    return out


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)


def classic(frame: CandleFrame) -> dict[str, np.ndarray]:
    high, low, close, volume = frame.high, frame.low, frame.close, frame.volume
    one = _log_return(close, 1)
    ema20, ema50 = ema(close, 20), ema(close, 50)
    upper, middle, lower = bollinger_bands(close, 20, 2.0)
    stoch_k, stoch_d = stochastic(high, low, close, 14, 3, 3)
    on_balance = obv(close, volume)
    span = high - low
    flat = span <= 0
    columns = {f"ret_{k}": _log_return(close, k) for k in (1, 4, 12, 24)}
    columns |= {
        "volatility_24": _rolling_std(one, 24),
        "ema_dist_20": close / ema20 - 1,
        "ema_dist_50": close / ema50 - 1,
        "ema_20_50": ema20 / ema50 - 1,
        "rsi_14": rsi(close, 14),
        "adx_14": adx(high, low, close, 14),
        "stoch_k": stoch_k,
        "stoch_d": stoch_d,
        "macd_hist": macd(close, 12, 26, 9)[2] / close,
        "atr_pct": atr(high, low, close, 14) / close,
        "bb_pctb": _ratio(close - lower, upper - lower),
        "bb_width": _ratio(upper - lower, middle),
        "obv_slope_12": _ratio(_change(on_balance, 12), _rolling_mean(volume, 12) * 12),
        "volume_ratio_20": _ratio(volume, sma(volume, 20)),
        "range_pct": span / close,
        "body": np.where(flat, 0.0, _ratio(close - frame.open, span)),
        "upper_wick": np.where(flat, 0.0, _ratio(high - np.maximum(frame.open, close), span)),
        "lower_wick": np.where(flat, 0.0, _ratio(np.minimum(frame.open, close) - low, span)),
        "vwap_dist": close / vwap(high, low, close, volume, frame.open_time_ms) - 1,
    }
    return columns


def _since_break(breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(candles since the latest break, capped; index of that break or -1)."""
    index = np.arange(len(breaks))
    marks = np.where(breaks != 0, index, -1)
    latest = np.maximum.accumulate(marks) if len(marks) else marks
    since = np.where(latest >= 0, np.minimum(index - latest, BREAK_CAP), np.nan)
    return since.astype(np.float64), latest


def _nearest_open_zone(close, known, ended, edge, mtr, below: bool) -> np.ndarray:
    """Per candle t: the distance in MTR from close to the nearest zone edge on one side,
    over the zones known at or before t and not ended by t (ended -1: not yet)."""
    count = len(close)
    out = np.full(count, np.nan)
    if not len(known):
        return out
    t = np.arange(count)[:, None]
    alive = (known[None, :] <= t) & ((ended[None, :] < 0) | (ended[None, :] > t))
    side = edge[None, :] <= close[:, None] if below else edge[None, :] >= close[:, None]
    distance = (close[:, None] - edge[None, :]) if below else (edge[None, :] - close[:, None])
    distance = np.where(alive & side, distance, np.inf)
    nearest = distance.min(axis=1)
    found = np.isfinite(nearest)
    out[found] = nearest[found] / mtr[found]
    return out


def structure(frame: CandleFrame) -> dict[str, np.ndarray]:
    high, low, close = frame.high, frame.low, frame.close
    swings = swing_points(high, low, SWING)
    breaks = market_structure(high, low, close, swings)
    since, latest = _since_break(breaks.breaks)
    choch_at = breaks.choch != 0
    last_choch = np.where(latest >= 0, choch_at[np.maximum(latest, 0)], False)
    mtr = mean_true_range(high, low, close)
    gaps = fair_value_gaps(high, low, close)
    blocks = order_blocks(frame.open, high, low, close, breaks)
    bull_gap, bull_block = gaps.direction > 0, blocks.direction > 0
    return {
        "trend": breaks.trend.astype(np.float64),
        "since_break": since,
        "last_break_choch": last_choch.astype(np.float64),
        "range_position": dealing_range(high, low, close, swings).position,
        "fvg_bull_dist": _nearest_open_zone(
            close,
            gaps.index[bull_gap],
            gaps.filled_index[bull_gap],
            gaps.top[bull_gap],
            mtr,
            below=True,
        ),
        "fvg_bear_dist": _nearest_open_zone(
            close,
            gaps.index[~bull_gap],
            gaps.filled_index[~bull_gap],
            gaps.bottom[~bull_gap],
            mtr,
            below=False,
        ),
        "ob_bull_dist": _nearest_open_zone(
            close,
            blocks.formed_index[bull_block],
            blocks.broken_index[bull_block],
            blocks.top[bull_block],
            mtr,
            below=True,
        ),
        "ob_bear_dist": _nearest_open_zone(
            close,
            blocks.formed_index[~bull_block],
            blocks.broken_index[~bull_block],
            blocks.bottom[~bull_block],
            mtr,
            below=False,
        ),
    }


def profile(frame: CandleFrame, first: int) -> dict[str, np.ndarray]:
    """The rolling volume profile, for rows `first`.. only (it is the costly column)."""
    count = len(frame)
    names = ("poc_dist", "vah_dist", "val_dist")
    out = {name: np.full(count, np.nan) for name in names}
    mtr = mean_true_range(frame.high, frame.low, frame.close)
    for t in range(max(first, PROFILE_CANDLES - 1), count):
        window = slice(t - PROFILE_CANDLES + 1, t + 1)
        levels = volume_profile(frame.high[window], frame.low[window], frame.volume[window])
        close = frame.close[t]
        for name, level in zip(
            names, (levels.poc, levels.value_area_high, levels.value_area_low), strict=True
        ):
            out[name][t] = (close - level) / mtr[t]
    return out


def flow(frame: CandleFrame) -> dict[str, np.ndarray]:
    names = (
        "imbalance",
        "imbalance_12",
        "cvd_change_24",
        "absorption",
        "exhaustion_6",
        "divergence_24",
    )
    count = len(frame)
    try:
        reading = order_flow(frame)
    except NoOrderFlow:
        return {name: np.full(count, np.nan) for name in names}
    divergence = np.zeros(count)
    known = reading.divergences.known_index
    for direction, at in zip(reading.divergences.direction, known, strict=True):
        divergence[at : min(at + 24, count)] = direction  # later ones overwrite earlier
    unknown = np.isnan(reading.delta)
    divergence[unknown] = np.nan
    return {
        "imbalance": reading.imbalance,
        "imbalance_12": _rolling_mean(reading.imbalance, 12),
        "cvd_change_24": _ratio(
            _change(reading.cumulative_delta, 24), _rolling_mean(frame.volume, 24) * 24
        ),
        "absorption": np.where(unknown, np.nan, reading.absorption.astype(np.float64)),
        "exhaustion_6": np.where(
            unknown, np.nan, _rolling_mean(reading.exhaustion.astype(np.float64), 6) * 6
        ),
        "divergence_24": divergence,
    }


def higher(frame: CandleFrame, candle_ms: int) -> dict[str, np.ndarray]:
    """The higher timeframe's closed buckets, mapped to the candles they closed by. The
    slice's first bucket is dropped (it may have started before the slice)."""
    count = len(frame)
    names = ("htf_ret_1", "htf_rsi_14", "htf_ema_dist_20")
    out = {name: np.full(count, np.nan) for name in names}
    bucket_ms = candle_ms * HIGHER_FACTOR
    buckets = frame.open_time_ms // bucket_ms
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], count] - 1
    closes_at = (buckets[starts] + 1) * bucket_ms  # the bucket's end
    closed = closes_at <= frame.open_time_ms[ends] + candle_ms
    starts, ends, closes_at = starts[closed][1:], ends[closed][1:], closes_at[closed][1:]
    if not len(starts):
        return out
    closes = frame.close[ends]
    readings = {
        "htf_ret_1": _log_return(closes, 1),
        "htf_rsi_14": rsi(closes, 14),
        "htf_ema_dist_20": closes / ema(closes, 20) - 1,
    }
    candle_close = frame.open_time_ms + candle_ms
    latest = np.searchsorted(closes_at, candle_close, side="right") - 1
    seen = latest >= 0
    for name, values in readings.items():
        out[name][seen] = values[latest[seen]]
    return out


def calendar(frame: CandleFrame) -> dict[str, np.ndarray]:
    hours = (frame.open_time_ms // 3_600_000) % 24
    days = (frame.open_time_ms // 86_400_000 + 3) % 7  # 1970-01-01 was a Thursday
    angle = 2 * np.pi * hours / 24
    return {
        "hour_sin": np.sin(angle),
        "hour_cos": np.cos(angle),
        "weekday": days.astype(np.float64),
    }


def all_columns(frame: CandleFrame, candle_ms: int, first: int = 0) -> dict[str, np.ndarray]:
    """Every column over `frame`; rows before `first` may be left NaN (warm-up)."""
    return (
        classic(frame)
        | structure(frame)
        | profile(frame, first)
        | flow(frame)
        | higher(frame, candle_ms)
        | calendar(frame)
    )
