"""Indicators: pure functions over numpy arrays (no database, no scheduler), shared by the
engine's strategies and the desk's charts. TA-Lib computes the classic ones; the market
structure, zones and volume profile are our own, each defined in its docstring."""

from botdesk.engine.indicators.structure import (
    BEARISH,
    BULLISH,
    Structure,
    Swings,
    market_structure,
    swing_points,
)
from botdesk.engine.indicators.ta import (
    adx,
    atr,
    bollinger_bands,
    ema,
    macd,
    obv,
    rsi,
    sma,
    stochastic,
)
from botdesk.engine.indicators.volume_profile import VolumeProfile, volume_profile
from botdesk.engine.indicators.vwap import vwap
from botdesk.engine.indicators.zones import (
    FairValueGaps,
    LiquidityLevels,
    OrderBlocks,
    fair_value_gaps,
    liquidity_levels,
    order_blocks,
)

__all__ = [
    "BEARISH",
    "BULLISH",
    "FairValueGaps",
    "LiquidityLevels",
    "OrderBlocks",
    "Structure",
    "Swings",
    "VolumeProfile",
    "adx",
    "atr",
    "bollinger_bands",
    "ema",
    "fair_value_gaps",
    "liquidity_levels",
    "macd",
    "market_structure",
    "obv",
    "order_blocks",
    "rsi",
    "sma",
    "stochastic",
    "swing_points",
    "volume_profile",
    "vwap",
]
