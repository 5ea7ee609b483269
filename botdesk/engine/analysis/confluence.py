"""Multi-timeframe confluence: how many independent readings agree, as a 0-100 score.

`confluence` reads several timeframes of one symbol as of one moment `as_of_ms`: each
timeframe sees only its candles closed by then (open + length <= as_of_ms), so a 4h
candle counts once it has closed, never while it is forming. The first (shortest)
timeframe is the base: its last close is the price, its mean true range (MTR, see
`botdesk.engine.analysis.smc`) the unit of distance. Timeframe weights grow with length
(`TIMEFRAME_WEIGHTS`: 5m 1, 15m 2, 1h 3, 4h 4; others by their length).

The direction is bullish when the weighted sum of the timeframes' structure trends (+1
after a bullish break, -1 after a bearish one) is above 0, bearish below, neutral at 0
(the score is then computed for the direction of the base trend, or bullish). Components,
each a part in 0..1 times its weight (weights sum to 100):

- **trend** (35): the weighted share of timeframes whose trend is the direction's;
- **zones** (25): the weighted share of timeframes with an active zone of the direction
  (an order block not yet mitigated nor broken, or a fair value gap not yet filled;
  bullish ones for a bullish direction) within 0.5 MTR of the price, or around it;
- **volume profile** (20): closeness of the price to a level of the base window's profile
  (POC, value area high or low, a high-volume node): 1 at a level, falling linearly to 0
  at 1 MTR away;
- **order flow** (20): the base timeframe's net taker imbalance over its last 20 candles
  (sum of delta / sum of volume) in the direction, full at 0.25. When the candles carry no
  taker volume this component is unavailable: it is reported so, and the score is taken
  over the other weights (score = 100 x sum of contributions / sum of available weights).

**Zones where they coincide**: price bands from every timeframe (active order blocks and
fair value gaps as they are; liquidity pools not yet swept, the profile's POC, value area
edges and high-volume nodes, and the equilibrium of each dealing range as bands of
+-0.25 MTR; the "golden pocket" 61.8-78.6 % retracement of each last swing leg), cut
where they overlap: every stretch covered by two sources or more is a zone, with its
sources; the zones nearest the price are reported first.
"""

from dataclasses import dataclass, field

import numpy as np

from botdesk.engine.analysis.order_flow import order_flow
from botdesk.engine.analysis.profile import ProfileLevels, profile_levels
from botdesk.engine.analysis.smc import SmcAnalysis, smc_analysis
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import BEARISH, BULLISH
from botdesk.engine.timeframes import timeframe_ms

TIMEFRAME_WEIGHTS = {"1m": 0.5, "5m": 1.0, "15m": 2.0, "1h": 3.0, "4h": 4.0, "1d": 5.0}
WEIGHTS = {"trend": 35.0, "zones": 25.0, "volume_profile": 20.0, "order_flow": 20.0}
ZONE_REACH = 0.5  # MTR: a zone this close to the price counts
LEVEL_REACH = 1.0  # MTR: a profile level this far away counts nothing
BAND = 0.25  # MTR: half-width of a level's band among the coinciding zones
FLOW_CANDLES, FLOW_FULL = 20, 0.25
ZONES_PER_SOURCE = 10  # the most recent active zones of each kind and timeframe
ZONES_SHOWN = 8


class NotEnoughHistory(ValueError):
    """A timeframe has too few closed candles to read; the message says which."""


@dataclass(frozen=True)
class Component:
    name: str
    weight: float
    available: bool
    part: float  # 0..1
    points: float  # part x weight, rescaled when a component is unavailable
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Zone:
    bottom: float
    top: float
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Confluence:
    as_of_ms: int
    price: float
    direction: int  # +1 bullish, -1 bearish
    trend_sum: float  # the weighted sum of trends, in -sum(weights)..sum(weights)
    score: float  # 0..100
    components: list[Component]
    zones: list[Zone]
    trends: dict[str, int]
    readings: dict[str, SmcAnalysis] = field(repr=False, compare=False)


def closed_by(frame: CandleFrame, timeframe: str, as_of_ms: int) -> CandleFrame:
    """The candles of `frame` closed by `as_of_ms` (open + length <= as_of_ms)."""
    return frame.between(None, as_of_ms - timeframe_ms(timeframe))


def timeframe_weight(timeframe: str) -> float:
    return TIMEFRAME_WEIGHTS.get(timeframe, timeframe_ms(timeframe) / 300_000)


def _active_zones(reading: SmcAnalysis, direction: int) -> list[tuple[float, float, str]]:
    """(bottom, top, kind) of the active zones of `direction` as of the last candle."""
    blocks, gaps = reading.blocks, reading.gaps
    chosen = []
    if len(blocks):
        live = (
            (blocks.direction == direction)
            & (blocks.mitigated_index < 0)
            & (blocks.broken_index < 0)
        )
        for k in np.flatnonzero(live)[-ZONES_PER_SOURCE:]:
            chosen.append((float(blocks.bottom[k]), float(blocks.top[k]), "order block"))
    if len(gaps):
        live = (gaps.direction == direction) & (gaps.filled_index < 0)
        for k in np.flatnonzero(live)[-ZONES_PER_SOURCE:]:
            chosen.append((float(gaps.bottom[k]), float(gaps.top[k]), "fair value gap"))
    return chosen


def _profile_levels(levels: ProfileLevels) -> list[tuple[float, str]]:
    profile = levels.profile
    found = [
        (profile.poc, "POC"),
        (profile.value_area_high, "value area high"),
        (profile.value_area_low, "value area low"),
    ]
    found += [(float(levels.middles[b]), "high-volume node") for b in levels.high_nodes]
    return found


def _coinciding(bands: list[tuple[float, float, str]], price: float) -> list[Zone]:
    """Stretches of price covered by two sources or more (see the module docstring)."""
    if not bands:
        return []
    names = sorted({name for _, _, name in bands})
    lows = np.array([band[0] for band in bands])
    highs = np.array([band[1] for band in bands])
    source = np.zeros((len(bands), len(names)))
    source[np.arange(len(bands)), [names.index(band[2]) for band in bands]] = 1.0
    edges = np.unique(np.concatenate([lows, highs]))
    bottoms, tops = edges[:-1], edges[1:]
    covers = (lows[None, :] <= bottoms[:, None]) & (highs[None, :] >= tops[:, None])
    present = (covers.astype(np.float64) @ source) > 0  # segments x sources
    zones: list[Zone] = []
    for segment in np.flatnonzero(present.sum(axis=1) >= 2):
        sources = tuple(names[k] for k in np.flatnonzero(present[segment]))
        bottom, top = float(bottoms[segment]), float(tops[segment])
        if zones and zones[-1].top == bottom and zones[-1].sources == sources:
            zones[-1] = Zone(zones[-1].bottom, top, sources)
        else:
            zones.append(Zone(bottom, top, sources))

    def distance(zone: Zone) -> float:
        return (
            0.0
            if zone.bottom <= price <= zone.top
            else min(abs(price - zone.bottom), abs(price - zone.top))
        )

    return sorted(zones, key=distance)[:ZONES_SHOWN]


def read_timeframes(
    frames: dict[str, CandleFrame],
    *,
    as_of_ms: int | None = None,
    swing: int = 5,
    min_candles: int = 50,
) -> tuple[int, dict[str, SmcAnalysis]]:
    """(as_of_ms, {timeframe: reading}) of `frames` ({timeframe: candles}) as of
    `as_of_ms` (default: the close of the shortest timeframe's last candle), shortest
    first, each over its candles closed by then. Raises NotEnoughHistory."""
    if not frames:
        raise ValueError("confluence needs at least one timeframe")
    order = sorted(frames, key=timeframe_ms)
    base = order[0]
    if as_of_ms is None:
        last = frames[base].last_open_ms
        if last is None:
            raise NotEnoughHistory(f"no {base} candles")
        as_of_ms = last + timeframe_ms(base)
    readings: dict[str, SmcAnalysis] = {}
    for timeframe in order:
        frame = closed_by(frames[timeframe], timeframe, as_of_ms)
        if len(frame) < min_candles:
            raise NotEnoughHistory(
                f"{len(frame)} closed {timeframe} candles; confluence needs at least {min_candles}"
            )
        readings[timeframe] = smc_analysis(frame, swing=swing)
    return as_of_ms, readings


def confluence(
    frames: dict[str, CandleFrame],
    *,
    as_of_ms: int | None = None,
    direction: int | None = None,
    swing: int = 5,
    min_candles: int = 50,
) -> Confluence:
    """The confluence of `frames` ({timeframe: candles}) as of `as_of_ms` (see
    `read_timeframes`); `direction` forces the direction scored (+1 or -1).
    Raises NotEnoughHistory."""
    as_of_ms, readings = read_timeframes(
        frames, as_of_ms=as_of_ms, swing=swing, min_candles=min_candles
    )
    return score_readings(readings, as_of_ms=as_of_ms, direction=direction)


@dataclass(frozen=True)
class Common:
    """What a confluence reads the same whichever direction it scores."""

    price: float
    unit: float  # the base timeframe's mean true range
    levels: ProfileLevels
    flow_available: bool
    imbalance: float | None
    zones: list[Zone]


def common_parts(readings: dict[str, SmcAnalysis], *, zones: bool = True) -> Common:
    """What the score reads whichever direction; `zones=False` leaves out the coinciding
    zones (reported, never scored: the `confluence` strategy reads the score only)."""
    base = next(iter(readings))
    frame = readings[base].frame
    price = float(frame.close[-1])
    unit = float(readings[base].mtr[-1])
    if not unit > 0:
        unit = float(np.nanmean(frame.high - frame.low)) or price * 0.001
    levels = profile_levels(frame.high, frame.low, frame.volume)
    imbalance = None
    if frame.has_flow:
        recent = slice(-FLOW_CANDLES, None)
        volume = float(np.nansum(frame.volume[recent]))
        delta = float(np.nansum(order_flow(frame).delta[recent]))
        imbalance = delta / volume if volume > 0 else 0.0
    if not zones:
        return Common(price, unit, levels, frame.has_flow, imbalance, [])
    bands = _bands(readings, unit)
    bands += [
        (level - BAND * unit, level + BAND * unit, f"{base} {name}")
        for level, name in _profile_levels(levels)
    ]
    return Common(price, unit, levels, frame.has_flow, imbalance, _coinciding(bands, price))


def _bands(readings: dict[str, SmcAnalysis], unit: float) -> list[tuple[float, float, str]]:
    """Every timeframe's price bands for the coinciding zones (see the module docstring)."""
    bands: list[tuple[float, float, str]] = []
    for tf, reading in readings.items():
        for side in (BULLISH, BEARISH):
            for bottom, top, kind in _active_zones(reading, side):
                bands.append((bottom, top, f"{tf} {kind}"))
        pools = reading.pools
        for k in np.flatnonzero(pools.swept_index < 0)[-ZONES_PER_SOURCE:]:
            side = "buy-side" if pools.direction[k] == BULLISH else "sell-side"
            level = float(pools.level[k])
            bands.append((level - BAND * unit, level + BAND * unit, f"{tf} {side} liquidity"))
        dealing = reading.dealing
        if dealing.direction[-1] == 0:
            continue
        high, low = float(dealing.high[-1]), float(dealing.low[-1])
        middle, span = float(dealing.equilibrium[-1]), high - low
        bands.append((middle - BAND * unit, middle + BAND * unit, f"{tf} equilibrium"))
        if dealing.direction[-1] == BULLISH:
            bands.append((high - 0.786 * span, high - 0.618 * span, f"{tf} golden pocket"))
        else:
            bands.append((low + 0.618 * span, low + 0.786 * span, f"{tf} golden pocket"))
    return bands


def score_readings(
    readings: dict[str, SmcAnalysis],
    *,
    as_of_ms: int,
    direction: int | None = None,
    common: Common | None = None,
) -> Confluence:
    """The confluence of readings made by `read_timeframes` (`common`: their
    direction-free parts, when already computed for the other direction)."""
    common = common or common_parts(readings)
    order = list(readings)
    base = order[0]
    price, unit = common.price, common.unit
    weights = {tf: timeframe_weight(tf) for tf in order}
    total = sum(weights.values())
    trends = {tf: int(readings[tf].structure.trend[-1]) for tf in order}
    trend_sum = sum(weights[tf] * trends[tf] for tf in order)
    if direction is None:
        direction = (
            BULLISH if trend_sum > 0 else BEARISH if trend_sum < 0 else (trends[base] or BULLISH)
        )
    agreeing = [tf for tf in order if trends[tf] == direction]
    trend_part = sum(weights[tf] for tf in agreeing) / total

    near_zones = {}
    for tf in order:
        for bottom, top, kind in _active_zones(readings[tf], direction):
            if bottom - ZONE_REACH * unit <= price <= top + ZONE_REACH * unit:
                near_zones.setdefault(tf, []).append(kind)
    zone_part = sum(weights[tf] for tf in near_zones) / total

    nearest = min(_profile_levels(common.levels), key=lambda level: abs(price - level[0]))
    distance = abs(price - nearest[0]) / unit
    profile_part = max(0.0, 1.0 - distance / LEVEL_REACH)
    flow_part = 0.0
    if common.imbalance is not None:
        flow_part = float(np.clip(direction * common.imbalance / FLOW_FULL, 0.0, 1.0))

    parts = {
        "trend": (True, trend_part, {"agreeing": agreeing, "trends": trends}),
        "zones": (True, zone_part, {"timeframes": near_zones}),
        "volume_profile": (
            True,
            profile_part,
            {"level": nearest[1], "price": nearest[0], "distance_mtr": distance},
        ),
        "order_flow": (
            common.flow_available,
            flow_part,
            {"imbalance": common.imbalance, "candles": FLOW_CANDLES},
        ),
    }
    available = sum(WEIGHTS[name] for name, (ok, _, _) in parts.items() if ok)
    scale = 100.0 / available
    components = [
        Component(
            name, WEIGHTS[name], ok, part, part * WEIGHTS[name] * scale if ok else 0.0, detail
        )
        for name, (ok, part, detail) in parts.items()
    ]
    return Confluence(
        as_of_ms=as_of_ms,
        price=price,
        direction=direction,
        trend_sum=trend_sum,
        score=sum(c.points for c in components),
        components=components,
        zones=common.zones,
        trends=trends,
        readings=readings,
    )
