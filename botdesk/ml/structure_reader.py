"""The structure columns of the feature set (`feature_columns.structure`), read candle by
candle from state carried from the previous candle instead of recomputed over the slice.

`StructureReader` follows one slice of `feature_set` (the WARMUP candles before a block
and the block's candles) from its first candle: each `step` takes the next candle and
returns that candle's structure columns, which are the values `feature_columns.structure`
gives the same candle over the same slice, to the last digit (tests/ml/test_structure_
reader.py compares them on the shared klines). The state is what those definitions read:

- the mean true range, summed as TA-Lib's SMA sums it (a running total from the slice's
  second candle, so the float rounding is TA-Lib's too);
- the latest confirmed swing high and low (a swing at j is known at the close of j + 5)
  and whether each has been broken yet (a swing breaks at most once);
- the trend, the latest break and whether it was a CHoCH;
- the open fair value gaps and order blocks of each side (a gap from its third candle
  until the candle that fills it, a block from the break that formed it until a close
  beyond its far side).

Nothing here reads a candle after the one being stepped, so the reader is causal by
construction; the tests cut the klines and compare as well.
"""

import math

from botdesk.engine.analysis.smc import MTR_PERIOD
from botdesk.ml.feature_columns import BREAK_CAP, SWING

NAMES = (
    "trend",
    "since_break",
    "last_break_choch",
    "range_position",
    "fvg_bull_dist",
    "fvg_bear_dist",
    "ob_bull_dist",
    "ob_bear_dist",
)
NAN = math.nan


class _Side:
    """One side of the structure: its latest confirmed swing and whether it broke."""

    def __init__(self):
        self.swing = -1
        self.broken = False


def _nearest(close: float, edges: list[float], mtr: float, below: bool) -> float:
    """(close - the highest edge at or below close) / mtr, or (the lowest edge at or
    above close - close) / mtr; NaN without such an edge (as `_nearest_open_zone`)."""
    if below:
        distances = [close - edge for edge in edges if edge <= close]
    else:
        distances = [edge - close for edge in edges if edge >= close]
    if not distances:
        return NAN
    return min(distances) / mtr


class StructureReader:
    """The structure columns of one slice, one candle at a time (see the module doc)."""

    def __init__(self):
        self.open: list[float] = []
        self.high: list[float] = []
        self.low: list[float] = []
        self.close: list[float] = []
        self.open_time_ms: list[int] = []
        self._true_range: list[float] = []
        self._total = 0.0
        self._highs, self._lows = _Side(), _Side()
        self._trend = 0
        self._latest_break = -1
        self._latest_choch = False
        # open zones as [top, bottom]; gaps are filled, blocks broken
        self._bull_gaps: list[tuple[float, float]] = []
        self._bear_gaps: list[tuple[float, float]] = []
        self._bull_blocks: list[tuple[float, float]] = []
        self._bear_blocks: list[tuple[float, float]] = []

    def __len__(self) -> int:
        return len(self.close)

    def step(self, open_time_ms: int, open_: float, high: float, low: float, close: float):
        """Take the next candle of the slice; its structure columns, in NAMES order."""
        t = len(self.close)
        self.open_time_ms.append(open_time_ms)
        self.open.append(open_)
        self.high.append(high)
        self.low.append(low)
        self.close.append(close)
        mtr = self._mean_true_range(t)
        self._confirm_swing(t)
        self._close_zones(t)
        self._break(t)
        self._open_gap(t)
        position = NAN
        if self._highs.swing >= 0 and self._lows.swing >= 0:
            top, bottom = self.high[self._highs.swing], self.low[self._lows.swing]
            span = top - bottom
            if span > 0:
                position = (close - bottom) / span
        since = NAN
        if self._latest_break >= 0:
            since = float(min(t - self._latest_break, BREAK_CAP))
        return (
            float(self._trend),
            since,
            1.0 if self._latest_break >= 0 and self._latest_choch else 0.0,
            position,
            _nearest(close, [top for top, _ in self._bull_gaps], mtr, below=True),
            _nearest(close, [bottom for _, bottom in self._bear_gaps], mtr, below=False),
            _nearest(close, [top for top, _ in self._bull_blocks], mtr, below=True),
            _nearest(close, [bottom for _, bottom in self._bear_blocks], mtr, below=False),
        )

    def _mean_true_range(self, t: int) -> float:
        """`smc.mean_true_range` at t: TA-Lib's TRANGE (none at the first candle) and its
        SMA, whose running total starts at the first true range."""
        if t == 0:
            return NAN
        high, low, previous = self.high[t], self.low[t], self.close[t - 1]
        true_range = max(high - low, abs(previous - high), abs(previous - low))
        self._true_range.append(true_range)  # index k holds candle k + 1's
        if t < MTR_PERIOD:
            self._total += true_range
            return NAN
        total = self._total + true_range
        self._total = total - self._true_range[t - MTR_PERIOD]
        return total / MTR_PERIOD

    def _confirm_swing(self, t: int) -> None:
        """The candle SWING before t becomes a swing now, if it is one."""
        j = t - SWING
        if j < SWING:
            return
        high, low = self.high, self.low
        if high[j] > max(high[j - SWING : j]) and high[j] >= max(high[j + 1 : t + 1]):
            self._highs.swing, self._highs.broken = j, False
        if low[j] < min(low[j - SWING : j]) and low[j] <= min(low[j + 1 : t + 1]):
            self._lows.swing, self._lows.broken = j, False

    def _close_zones(self, t: int) -> None:
        """Zones known before t that t fills (gaps) or closes beyond (blocks)."""
        low, high, close = self.low[t], self.high[t], self.close[t]
        self._bull_gaps = [zone for zone in self._bull_gaps if low > zone[1]]
        self._bear_gaps = [zone for zone in self._bear_gaps if high < zone[0]]
        self._bull_blocks = [zone for zone in self._bull_blocks if not close < zone[1]]
        self._bear_blocks = [zone for zone in self._bear_blocks if not close > zone[0]]

    def _break(self, t: int) -> None:
        """A close beyond the watched swing: BOS or CHoCH, and the order block it forms.
        A close through both levels counts bullish (the bearish swing is used up)."""
        close = self.close[t]
        up = self._highs
        down = self._lows
        broke_up = up.swing >= 0 and not up.broken and close > self.high[up.swing]
        broke_down = down.swing >= 0 and not down.broken and close < self.low[down.swing]
        if broke_up:
            up.broken = True
        if broke_down:
            down.broken = True
        if broke_up:
            self._record_break(t, 1, up.swing)
        elif broke_down:
            self._record_break(t, -1, down.swing)

    def _record_break(self, t: int, direction: int, swing: int) -> None:
        self._latest_choch = self._trend == -direction
        self._trend = direction
        self._latest_break = t
        block = self._block_candle(swing, t, direction)
        zone = (self.high[block], self.low[block])
        (self._bull_blocks if direction == 1 else self._bear_blocks).append(zone)

    def _block_candle(self, swing: int, end: int, direction: int) -> int:
        """`zones.order_blocks`' block: the last of the lowest lows (highest highs) in
        swing..end, then the last opposite candle from the swing up to it, else itself."""
        if direction == 1:
            lows = self.low
            extreme = swing
            for k in range(swing, end + 1):
                if lows[k] <= lows[extreme]:
                    extreme = k
        else:
            highs = self.high
            extreme = swing
            for k in range(swing, end + 1):
                if highs[k] >= highs[extreme]:
                    extreme = k
        for k in range(extreme, swing - 1, -1):
            opened, closed = self.open[k], self.close[k]
            if (closed < opened) if direction == 1 else (closed > opened):
                return k
        return extreme

    def _open_gap(self, t: int) -> None:
        """A fair value gap whose third candle is t (min size 0)."""
        if t < 2:
            return
        threshold = 0.0 * self.close[t - 1]
        if self.low[t] - self.high[t - 2] > threshold:
            self._bull_gaps.append((self.low[t], self.high[t - 2]))
        elif self.low[t - 2] - self.high[t] > threshold:
            self._bear_gaps.append((self.low[t - 2], self.high[t]))
