"""Market analysis on top of the indicators: pure functions from closed candles (numpy
arrays or a `CandleFrame`) to dataclasses, never reading the database, never looking
ahead. The REST API, the desk's Market page and strategies call the same functions.

- `order_flow`: delta, cumulative delta, imbalance, absorption, exhaustion, divergences;
- `liquidity`: equal highs and lows of two or more touches, and their sweeps;
- `levels`: previous day's and week's high and low, the dealing range (premium/discount,
  retracement), Fibonacci levels of the last swing leg;
- `sessions`: the Asia, London and New York sessions and their ranges;
- `profile`: the volume profile's POC, value area and high- and low-volume nodes;
- `patterns`: candlestick patterns (TA-Lib);
- `smc`: all of the above for one timeframe, with order block strength;
- `confluence`: several timeframes at one moment, scored 0-100, with the zones where
  readings coincide;
- `setups`: entries, stops, take-profits and reward/risk where price sits in a zone;
- `ticker`: last price, 24-hour change, high, low and volume.

Causality: a per-candle output at t uses candles 0..t only; an event (a zone, a pool, a
divergence) carries the candle it became known at and the candle of what happened to it
later; the multi-timeframe readings see a longer timeframe's candle only once it closed.
"""

from botdesk.engine.analysis.confluence import (
    Confluence,
    NotEnoughHistory,
    confluence,
    read_timeframes,
    score_readings,
)
from botdesk.engine.analysis.levels import (
    DealingRange,
    PeriodLevels,
    dealing_range,
    fibonacci,
    period_levels,
)
from botdesk.engine.analysis.liquidity import LiquidityPools, liquidity_pools
from botdesk.engine.analysis.order_flow import NoOrderFlow, OrderFlow, order_flow
from botdesk.engine.analysis.patterns import CandlePatterns, Pattern, candle_patterns
from botdesk.engine.analysis.profile import ProfileLevels, profile_levels
from botdesk.engine.analysis.sessions import SessionRanges, session_ranges
from botdesk.engine.analysis.setups import Setup, find_setups, setups
from botdesk.engine.analysis.smc import SmcAnalysis, mean_true_range, smc_analysis
from botdesk.engine.analysis.ticker import Ticker, ticker

__all__ = [
    "CandlePatterns",
    "Confluence",
    "DealingRange",
    "LiquidityPools",
    "NoOrderFlow",
    "NotEnoughHistory",
    "OrderFlow",
    "Pattern",
    "PeriodLevels",
    "ProfileLevels",
    "SessionRanges",
    "Setup",
    "SmcAnalysis",
    "Ticker",
    "candle_patterns",
    "confluence",
    "dealing_range",
    "fibonacci",
    "find_setups",
    "liquidity_pools",
    "mean_true_range",
    "order_flow",
    "period_levels",
    "profile_levels",
    "read_timeframes",
    "score_readings",
    "session_ranges",
    "setups",
    "smc_analysis",
    "ticker",
]
