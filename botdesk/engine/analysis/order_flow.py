"""Order flow from Binance's taker-buy volume: who was aggressive, candle by candle.

Every Binance trade has a taker (the order that crossed the spread) and a maker. A kline's
`taker_buy_base_volume` is the part of its volume bought by takers; the rest was sold by
takers. Definitions, candle t (all from candles 0..t only):

- buy volume b[t] = taker-buy base volume; sell volume s[t] = volume[t] - b[t];
- **delta**[t] = b[t] - s[t] (positive: takers bought more than they sold);
- **cumulative delta** (CVD)[t] = delta[0] + ... + delta[t], over the candles given (its
  level depends on where they start; its changes do not);
- **imbalance**[t] = delta[t] / volume[t], in -1..1 (0 for a candle without volume);
  the buy share is (1 + imbalance) / 2;
- **absorption**[t]: aggression that did not move the price. +1 (selling absorbed,
  bullish) when delta[t] <= -`factor` x the mean |delta| of the `lookback` candles
  before t and the candle did not fall by more than `body` x their mean range
  (close[t] - open[t] >= -body x mean range); -1 mirrors it (buying absorbed, bearish);
- **exhaustion**[t]: a push whose aggression fades. -1 (buyers exhausted) when the last
  three closes rise (close[t-2] < close[t-1] < close[t]) while the deltas shrink and stay
  positive (delta[t-2] > delta[t-1] > delta[t] > 0); +1 mirrors it for selling;
- **divergence** at swing points (fractal swings of `swing` candles, see
  `botdesk.engine.indicators.swing_points`): for two consecutive swing highs i < j, bearish
  (-1) when high[j] > high[i] but CVD[j] < CVD[i] (a higher high on less net buying);
  for two consecutive swing lows, bullish (+1) when low[j] < low[i] but CVD[j] > CVD[i].
  It is known at j + swing, when swing j is confirmed.

A candle without taker volume (NaN) has an unknown delta: NaN in `delta` and `imbalance`,
adding nothing to the CVD, and never flagged.
"""

from dataclasses import dataclass

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import swing_points
from botdesk.engine.indicators.shared import shared

LOOKBACK, FACTOR, BODY = 20, 2.0, 0.3


class NoOrderFlow(ValueError):
    """The candles carry no taker-buy volume, so there is no order flow to compute."""


@dataclass(frozen=True, eq=False)
class Divergences:
    """One row per divergence: direction (+1 bullish at lows, -1 bearish at highs), the two
    swing candles, and the candle where the second swing became known."""

    direction: np.ndarray
    first_index: np.ndarray
    second_index: np.ndarray
    known_index: np.ndarray

    def __len__(self) -> int:
        return len(self.direction)


@dataclass(frozen=True, eq=False)
class OrderFlow:
    """Per-candle arrays (see the module docstring), and the divergences."""

    buy_volume: np.ndarray
    sell_volume: np.ndarray
    delta: np.ndarray
    cumulative_delta: np.ndarray
    imbalance: np.ndarray
    absorption: np.ndarray  # int8: +1, -1 or 0
    exhaustion: np.ndarray  # int8: +1, -1 or 0
    divergences: Divergences

    def __len__(self) -> int:
        return len(self.delta)


def _mean_before(values: np.ndarray, lookback: int) -> np.ndarray:
    """mean(values[t-lookback .. t-1]) for every t, NaN until `lookback` candles exist
    (NaN values count as absent)."""
    known = ~np.isnan(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(known, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(known)])
    index = np.arange(len(values))
    start = index - lookback
    valid = start >= 0
    total = np.where(valid, sums[index] - sums[np.maximum(start, 0)], np.nan)
    count = np.where(valid, counts[index] - counts[np.maximum(start, 0)], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _divergences(high, low, cvd, swing: int) -> Divergences:
    swings = swing_points(high, low, swing)
    rows = []
    for direction, prices, mask in ((-1, high, swings.high), (1, low, swings.low)):
        points = np.flatnonzero(mask)
        first, second = points[:-1], points[1:]
        if direction == -1:
            found = (prices[second] > prices[first]) & (cvd[second] < cvd[first])
        else:
            found = (prices[second] < prices[first]) & (cvd[second] > cvd[first])
        rows += [
            (direction, i, j, j + swing) for i, j in zip(first[found], second[found], strict=True)
        ]
    rows.sort(key=lambda row: row[3])
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 4
    return Divergences(
        np.asarray(columns[0], dtype=np.int8),
        *(np.asarray(column, dtype=np.int64) for column in columns[1:]),
    )


@shared
def order_flow(
    frame: CandleFrame,
    *,
    lookback: int = LOOKBACK,
    factor: float = FACTOR,
    body: float = BODY,
    swing: int = 5,
) -> OrderFlow:
    """Order flow of `frame` (see the module docstring). Raises NoOrderFlow when the
    frame has no taker-buy volume at all."""
    if not frame.has_flow:
        raise NoOrderFlow(
            "these candles carry no taker-buy volume: store klines with Binance's taker "
            "columns (the Binance feed, `botdesk data download`, or a file that has them)"
        )
    volume = frame.volume
    buy = frame.taker_buy_base_volume
    sell = volume - buy
    delta = buy - sell
    cvd = np.cumsum(np.nan_to_num(delta, nan=0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        imbalance = np.where(volume > 0, delta / volume, np.where(np.isnan(delta), np.nan, 0.0))
    typical_delta = _mean_before(np.abs(delta), lookback)
    typical_range = _mean_before(frame.high - frame.low, lookback)
    move = frame.close - frame.open
    with np.errstate(invalid="ignore"):
        absorbed_sells = (delta <= -factor * typical_delta) & (move >= -body * typical_range)
        absorbed_buys = (delta >= factor * typical_delta) & (move <= body * typical_range)
    absorption = np.where(absorbed_sells, 1, np.where(absorbed_buys, -1, 0)).astype(np.int8)
    exhaustion = np.zeros(len(delta), dtype=np.int8)
    if len(delta) >= 3:
        close, d = frame.close, delta
        with np.errstate(invalid="ignore"):
            rising = (close[:-2] < close[1:-1]) & (close[1:-1] < close[2:])
            falling = (close[:-2] > close[1:-1]) & (close[1:-1] > close[2:])
            fading_buys = (d[:-2] > d[1:-1]) & (d[1:-1] > d[2:]) & (d[2:] > 0)
            fading_sells = (d[:-2] < d[1:-1]) & (d[1:-1] < d[2:]) & (d[2:] < 0)
        exhaustion[2:] = np.where(rising & fading_buys, -1, np.where(falling & fading_sells, 1, 0))
    return OrderFlow(
        buy_volume=buy,
        sell_volume=sell,
        delta=delta,
        cumulative_delta=cvd,
        imbalance=imbalance,
        absorption=absorption,
        exhaustion=exhaustion,
        divergences=_divergences(frame.high, frame.low, cvd, swing),
    )
