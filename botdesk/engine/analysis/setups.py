"""Trade setups as of now: where the base timeframe's price sits in a zone worth trading.

Three kinds, long (+1) or short (-1), each read from the base (shortest) timeframe of a
`Confluence` as of its last closed candle t:

- **order block**: candle t traded into an order block of the direction (low[t] <= top
  for a bullish block, high[t] >= bottom for a bearish one) that was not broken by t;
- **fair value gap**: candle t traded into a gap of the direction not filled by t;
- **liquidity sweep**: within the last `SWEEP_CANDLES` candles a sell-side pool (long) or
  buy-side pool (short) was swept, and candle t closed back on the inner side of its level.

For each: entry = close[t] (a market order on the next open); stop = beyond the zone's far
side (the block's or gap's bottom for a long, top for a short; for a sweep the extreme since
the sweep) by `STOP_BUFFER` x the mean true range; take-profit = the nearest liquidity pool
not yet swept on the far side of the entry (buy-side above for a long), else the dealing
range's far end, else two risks away. reward/risk = |take-profit - entry| / |entry -
stop|. Confidence (0..1) = the confluence score of the setup's direction / 100 (for an
order block, times (1 + strength) / 2). Only setups with reward/risk of at least
`MIN_REWARD_RISK` are kept, most confident first.
"""

from dataclasses import dataclass

import numpy as np

from botdesk.engine.analysis.confluence import (
    Confluence,
    common_parts,
    read_timeframes,
    score_readings,
)
from botdesk.engine.analysis.smc import SmcAnalysis
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import BEARISH, BULLISH

SWEEP_CANDLES = 3
STOP_BUFFER = 0.25  # MTR
MIN_REWARD_RISK = 1.0


@dataclass(frozen=True)
class Setup:
    kind: str  # order_block | fair_value_gap | liquidity_sweep
    direction: int  # +1 long, -1 short
    confidence: float
    entry: float
    stop: float
    take_profit: float
    take_profit_reason: str
    reward_risk: float
    zone_bottom: float
    zone_top: float
    zone_index: int  # the block, gap or swept pool's last touch candle
    known_index: int  # when the zone became known


def _target(reading: SmcAnalysis, direction: int, entry: float, risk: float) -> tuple[float, str]:
    t = len(reading) - 1
    pools = reading.pools
    if len(pools):
        live = (
            (pools.direction == direction)
            & (pools.formed_index <= t)
            & ((pools.swept_index < 0) | (pools.swept_index > t))
            & (direction * (pools.level - entry) > 0)
        )
        if live.any():
            levels = pools.level[live]
            nearest = levels[np.argmin(direction * (levels - entry))]
            side = "buy-side" if direction == BULLISH else "sell-side"
            return float(nearest), f"nearest {side} liquidity"
    dealing = reading.dealing
    end = dealing.high[t] if direction == BULLISH else dealing.low[t]
    if np.isfinite(end) and direction * (end - entry) > 0:
        return float(end), "dealing range " + ("high" if direction == BULLISH else "low")
    return entry + direction * 2 * risk, "two risks"


def _setup(kind, reading, direction, bottom, top, far, zone, known, score) -> Setup | None:
    t = len(reading) - 1
    entry = float(reading.frame.close[t])
    buffer = STOP_BUFFER * float(reading.mtr[t]) if np.isfinite(reading.mtr[t]) else 0.0
    stop = far - direction * buffer
    risk = direction * (entry - stop)
    if not risk > 0:
        return None
    take_profit, reason = _target(reading, direction, entry, risk)
    reward_risk = direction * (take_profit - entry) / risk
    if reward_risk < MIN_REWARD_RISK:
        return None
    return Setup(
        kind,
        direction,
        float(np.clip(score, 0.0, 1.0)),
        entry,
        float(stop),
        float(take_profit),
        reason,
        float(reward_risk),
        float(bottom),
        float(top),
        int(zone),
        int(known),
    )


@dataclass(frozen=True)
class _Zones:
    """Zones of one kind, column by column: which of them, as of candle t, may be traded."""

    kind: str
    direction: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    zone_index: np.ndarray  # the block candle, or the gap's middle candle
    known_index: np.ndarray
    ended_index: np.ndarray  # broken (a block) or filled (a gap), -1 while not
    weight: np.ndarray  # the confidence's factor


def _zones(reading: SmcAnalysis) -> list[_Zones]:
    blocks, gaps = reading.blocks, reading.gaps
    return [
        _Zones(
            "order_block", blocks.direction, blocks.top, blocks.bottom, blocks.index,
            blocks.formed_index, blocks.broken_index, (1 + reading.block_strength) / 2,
        ),
        _Zones(
            "fair_value_gap", gaps.direction, gaps.top, gaps.bottom, gaps.index - 1,
            gaps.index, gaps.filled_index, np.ones(len(gaps)),
        ),
    ]  # fmt: skip


def _in_zones(reading: SmcAnalysis, direction: int, score: float) -> list[Setup]:
    """Setups where candle t traded into a block or gap of `direction` still standing."""
    t = len(reading) - 1
    frame = reading.frame
    found = []
    for zones in _zones(reading):
        for k in np.flatnonzero((zones.direction == direction) & (zones.known_index < t)):
            if 0 <= zones.ended_index[k] <= t:
                continue
            if direction == BULLISH:
                inside, far = frame.low[t] <= zones.top[k], zones.bottom[k]
            else:
                inside, far = frame.high[t] >= zones.bottom[k], zones.top[k]
            if not inside:
                continue
            setup = _setup(
                zones.kind, reading, direction, zones.bottom[k], zones.top[k], far,
                zones.zone_index[k], zones.known_index[k], score * zones.weight[k],
            )  # fmt: skip
            if setup is not None:
                found.append(setup)
    return found


def _after_sweeps(reading: SmcAnalysis, direction: int, score: float) -> list[Setup]:
    t = len(reading) - 1
    pools, frame = reading.pools, reading.frame
    found = []
    recent = (pools.swept_index > t - SWEEP_CANDLES) & (pools.swept_index <= t)
    for k in np.flatnonzero(recent & (pools.direction == -direction)):
        level, swept = float(pools.level[k]), int(pools.swept_index[k])
        if direction * (frame.close[t] - level) <= 0:
            continue  # not back inside
        since = slice(swept, t + 1)
        far = float(frame.low[since].min() if direction == BULLISH else frame.high[since].max())
        bottom, top = min(far, level), max(far, level)
        setup = _setup(
            "liquidity_sweep", reading, direction, bottom, top, far,
            pools.touches[k][-1], swept, score,
        )  # fmt: skip
        if setup is not None:
            found.append(setup)
    return found


def setups(
    frames: dict[str, CandleFrame], *, as_of_ms: int | None = None, swing: int = 5
) -> tuple[list[Setup], dict[int, Confluence]]:
    """The setups as of `as_of_ms` (see the module docstring), most confident first, and
    the confluence of each direction they were scored with. Raises NotEnoughHistory."""
    as_of_ms, readings = read_timeframes(frames, as_of_ms=as_of_ms, swing=swing)
    return find_setups(readings, as_of_ms=as_of_ms)


def find_setups(
    readings: dict[str, SmcAnalysis], *, as_of_ms: int
) -> tuple[list[Setup], dict[int, Confluence]]:
    """`setups` of readings made by `read_timeframes`."""
    common = common_parts(readings)
    scored = {
        direction: score_readings(readings, as_of_ms=as_of_ms, direction=direction, common=common)
        for direction in (BULLISH, BEARISH)
    }
    found: list[Setup] = []
    base = next(iter(readings.values()))
    for direction, scored_direction in scored.items():
        points = scored_direction.score / 100
        found += _in_zones(base, direction, points)
        found += _after_sweeps(base, direction, points)
    found.sort(key=lambda setup: (-setup.confidence, -setup.reward_risk))
    return found, scored
