"""smc_structure: break of structure, then an entry on the retest of a fair value gap or an
order block ("smart money concepts")."""

import numpy as np
from pydantic import Field

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.indicators import (
    BULLISH,
    fair_value_gaps,
    market_structure,
    order_blocks,
    swing_points,
)
from botdesk.engine.indicators.structure import carry_forward
from botdesk.engine.indicators.zones import first_touch
from botdesk.engine.strategies.base import Strategy, StrategyParams

STRUCTURE_WEIGHT, FVG_WEIGHT, BLOCK_WEIGHT = 0.4, 0.3, 0.3


class SmcStructureParams(StrategyParams):
    swing: int = Field(5, ge=2, le=50, description="Candles on each side of a swing high or low.")
    min_confidence: float = Field(
        0.7,
        ge=0.4,
        le=1.0,
        description="Least confluence to enter: 0.4 for a bullish structure, +0.3 for a "
        "fair value gap retest, +0.3 for an order block retest.",
    )


class SmcStructure(Strategy):
    """Enters a bullish leg on the retest of its fair value gap or order block.

    Structure: swings with `swing` candles each side, breaks of structure and changes of
    character as defined in `botdesk.engine.indicators.structure`. A bullish leg starts at
    a bullish break (BOS or CHoCH) at candle b of the swing high at candle s, and lasts
    while the trend stays bullish (until the next bearish break).

    Retests inside a bullish leg, at candle t:
    - fair value gap: a bullish gap formed after s (during the move that broke structure,
      or later in the leg) is touched for the first time at t (low[t] <= its top) and t
      closes at or above its bottom;
    - order block: the leg's own bullish order block (from the break at b) is touched for
      the first time at t > b (low[t] <= its top) and t closes at or above its bottom.

    Confidence = 0.4 (bullish structure) + 0.3 if a gap is retested at t + 0.3 if the order
    block is. Buy at the first candle of a leg with a retest and confidence >=
    min_confidence (one entry per leg). Sell at every bearish break (BOS or CHoCH), with
    confidence 1.0. Stop: close[t] - stop_atr x ATR(14)[t]; take-profit two stop distances
    above the close (close + 2 x (close - stop)); neither when stop_atr is 0.
    """

    name = "smc_structure"
    pure = True
    title = "SMC structure"
    Params = SmcStructureParams

    @property
    def lookback(self) -> int:
        return 20 * self.params.swing

    @staticmethod
    def _retests(touches: np.ndarray, bullish: np.ndarray, holds) -> np.ndarray:
        """Candles where a zone is touched for the first time inside a bullish leg and
        `holds(candles, zones)` (the close stays at or above the zone, same leg...)."""
        retest = np.zeros(len(bullish), dtype=bool)
        hit = touches >= 0
        touched = touches[hit]
        retest[touched[bullish[touched] & holds(touched, hit)]] = True
        return retest

    def signals(self, candles: CandleFrame) -> SignalFrame:
        p = self.params
        count = len(candles)
        open_, high, low, close = candles.open, candles.high, candles.low, candles.close
        swings = swing_points(high, low, p.swing)
        structure = market_structure(high, low, close, swings)
        breaks = structure.breaks
        bullish = structure.trend == BULLISH
        starts = np.where(breaks == BULLISH, np.arange(count), 0)
        leg = np.where(bullish, carry_forward(starts), -1)  # the leg's break candle
        origin = np.full(count, -1, dtype=np.int64)  # the swing the leg broke
        origin[bullish] = structure.swing_index[leg[bullish]]

        # the first touch of every bullish zone, gaps and order blocks in one search
        gaps = fair_value_gaps(high, low, close)
        blocks = order_blocks(open_, high, low, close, structure)
        up_gap, up_block = gaps.direction == BULLISH, blocks.direction == BULLISH
        gap_count = int(up_gap.sum())
        touches = first_touch(
            low,
            np.concatenate([gaps.index[up_gap], blocks.formed_index[up_block]]),
            np.concatenate([gaps.top[up_gap], blocks.top[up_block]]),
            above=False,
        )
        fvg_retest = self._retests(
            touches[:gap_count],
            bullish,
            lambda t, hit: (
                (origin[t] < gaps.index[up_gap][hit]) & (close[t] >= gaps.bottom[up_gap][hit])
            ),
        )
        block_retest = self._retests(
            touches[gap_count:],
            bullish,
            lambda t, hit: (
                (leg[t] == blocks.formed_index[up_block][hit])
                & (close[t] >= blocks.bottom[up_block][hit])
            ),
        )

        confidence = np.where(
            bullish,
            STRUCTURE_WEIGHT + FVG_WEIGHT * fvg_retest + BLOCK_WEIGHT * block_retest,
            0.0,
        )
        candidates = np.flatnonzero(
            bullish & (fvg_retest | block_retest) & (confidence >= p.min_confidence - 1e-9)
        )
        _, first = np.unique(leg[candidates], return_index=True)
        buy = np.zeros(count, dtype=bool)
        buy[candidates[first]] = True
        stop = self.atr_stop(candles)
        take_profit = None if stop is None else close + 2.0 * (close - stop)
        reasons = np.where(
            fvg_retest & block_retest,
            "bullish structure, retest of fair value gap and order block",
            np.where(
                fvg_retest,
                "bullish structure, retest of fair value gap",
                "bullish structure, retest of order block",
            ),
        )
        sell_reasons = np.where(
            structure.choch != 0, "bearish change of character", "bearish break of structure"
        )
        return SignalFrame.build(
            count,
            buy=buy,
            sell=breaks < 0,
            confidence=np.where(breaks < 0, 1.0, confidence),
            stop=stop,
            take_profit=take_profit,
            buy_reason=reasons,
            sell_reason=sell_reasons,
        )
