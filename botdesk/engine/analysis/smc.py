"""The whole "smart money" reading of one timeframe, from one window of closed candles.

`smc_analysis` runs the indicators (`botdesk.engine.indicators`: swings, BOS/CHoCH, fair
value gaps, order blocks) and the analysis on top of them (liquidity pools, the dealing
range, candlestick patterns, sessions) once, and keeps the results together, so the API,
the Market page and a strategy read the same numbers.

Order block **strength**, in 0..1, known when the block is (at its break, `formed_index`),
is the mean of three parts:

- displacement: how far the breaking candle closed away from the block, in mean true
  ranges (close - top for a bullish block, bottom - close for a bearish one), 3 or more
  counting fully;
- volume: the mean volume from the block candle to the break over the mean volume of the
  20 candles before the block, twice or more counting fully;
- imbalance: 1 when the move left a fair value gap in its direction between the block and
  the break, else 0.

The **mean true range** (MTR) is the plain mean of the true ranges of the last 14 candles
(unlike Wilder's ATR it does not depend on where the window starts).
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import talib

from botdesk.engine.analysis.levels import DealingRange, dealing_range
from botdesk.engine.analysis.liquidity import LiquidityPools, liquidity_pools
from botdesk.engine.analysis.patterns import CandlePatterns, candle_patterns
from botdesk.engine.analysis.sessions import SessionRanges, session_ranges
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import (
    BULLISH,
    FairValueGaps,
    OrderBlocks,
    Structure,
    Swings,
    fair_value_gaps,
    market_structure,
    order_blocks,
    swing_points,
)
from botdesk.engine.indicators.shared import shared

MTR_PERIOD = 14
VOLUME_LOOKBACK = 20
DISPLACEMENT_FULL, VOLUME_FULL = 3.0, 2.0


@shared
def mean_true_range(high, low, close, period: int = MTR_PERIOD) -> np.ndarray:
    """Mean of the true ranges of the `period` candles up to t (NaN before): true range =
    max(high - low, |high - previous close|, |low - previous close|)."""
    true_range = talib.TRANGE(
        *(np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close))
    )
    return talib.SMA(true_range, timeperiod=period)


def block_strength(
    frame: CandleFrame, blocks: OrderBlocks, gaps: FairValueGaps, mtr: np.ndarray
) -> np.ndarray:
    """Each order block's strength in 0..1 (see the module docstring)."""
    if not len(blocks):
        return np.zeros(0)
    formed, block = blocks.formed_index, blocks.index
    bullish = blocks.direction == BULLISH
    close = frame.close[formed]
    away = np.where(bullish, close - blocks.top, blocks.bottom - close)
    with np.errstate(invalid="ignore", divide="ignore"):
        displacement = np.clip(np.nan_to_num(away / mtr[formed]), 0, DISPLACEMENT_FULL)
    volumes = np.concatenate([[0.0], np.cumsum(frame.volume)])
    move = (volumes[formed + 1] - volumes[block]) / (formed - block + 1)
    before_start = np.maximum(block - VOLUME_LOOKBACK, 0)
    before = np.where(
        block > 0,
        (volumes[block] - volumes[before_start]) / np.maximum(block - before_start, 1),
        np.nan,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        volume = np.clip(np.nan_to_num(move / before), 0, VOLUME_FULL)
    imbalance = np.array(
        [
            np.any((gaps.direction == direction) & (gaps.index > start) & (gaps.index <= end))
            for direction, start, end in zip(blocks.direction, block, formed, strict=True)
        ],
        dtype=np.float64,
    )
    return (displacement / DISPLACEMENT_FULL + volume / VOLUME_FULL + imbalance) / 3


@dataclass(frozen=True, eq=False)
class SmcAnalysis:
    """The readings of one window; the liquidity pools, dealing range, patterns and
    sessions are computed when first read."""

    frame: CandleFrame
    swings: Swings
    structure: Structure
    gaps: FairValueGaps
    blocks: OrderBlocks
    mtr: np.ndarray
    tolerance: float

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def block_strength(self) -> np.ndarray:
        return block_strength(self.frame, self.blocks, self.gaps, self.mtr)

    @cached_property
    def pools(self) -> LiquidityPools:
        return liquidity_pools(self.frame.high, self.frame.low, self.swings, self.tolerance)

    @cached_property
    def dealing(self) -> DealingRange:
        return dealing_range(self.frame.high, self.frame.low, self.frame.close, self.swings)

    @cached_property
    def patterns(self) -> CandlePatterns:
        frame = self.frame
        return candle_patterns(frame.open, frame.high, frame.low, frame.close)

    @cached_property
    def sessions(self) -> list[SessionRanges]:
        return session_ranges(self.frame.open_time_ms, self.frame.high, self.frame.low)


@shared
def smc_analysis(
    frame: CandleFrame, *, swing: int = 5, gap_size: float = 0.0, tolerance: float = 0.001
) -> SmcAnalysis:
    """Structure, zones, liquidity, dealing range, patterns and sessions of `frame`:
    fractal swings of `swing` candles each side, gaps of at least `gap_size` x price,
    equal highs and lows within `tolerance` x price."""
    high, low, close = frame.high, frame.low, frame.close
    swings = swing_points(high, low, swing)
    structure = market_structure(high, low, close, swings)
    gaps = fair_value_gaps(high, low, close, gap_size)
    blocks = order_blocks(frame.open, high, low, close, structure)
    return SmcAnalysis(
        frame=frame,
        swings=swings,
        structure=structure,
        gaps=gaps,
        blocks=blocks,
        mtr=mean_true_range(high, low, close),
        tolerance=tolerance,
    )
