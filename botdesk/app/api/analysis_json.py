"""The analysis as JSON: the engine's dataclasses turned into what the API answers.

Prices and derived values are JSON numbers (floats, rounded to 8 decimals; null where
unknown); candle times are ISO 8601 UTC strings of the candle's open; directions are
"bullish" / "bearish"; a zone or level says when it became known (the candle at whose close
it was) and what happened to it since, as of the window's last candle.
"""

import math

import numpy as np

from botdesk.engine.analysis import (
    Confluence,
    OrderFlow,
    PeriodLevels,
    ProfileLevels,
    Setup,
    SmcAnalysis,
    Ticker,
    fibonacci,
)
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import BULLISH

SHOWN = 20  # the most recent zones, breaks and pools of each kind
SWINGS_SHOWN = 30
PATTERN_CANDLES = 10  # patterns on the last candles of the window


def number(value) -> float | None:
    value = float(value)
    return round(value, 8) if math.isfinite(value) else None


def iso_times(ms) -> list[str]:
    stamps = np.asarray(ms, dtype=np.int64).astype("datetime64[ms]")
    return [f"{text}+00:00" for text in np.datetime_as_string(stamps, unit="s")]


def iso(ms: int) -> str:
    return iso_times([ms])[0]


def direction_name(direction: int) -> str | None:
    return {1: "bullish", -1: "bearish"}.get(int(direction))


def _at(times: list[str], index: int) -> str | None:
    """The time of candle `index`, None for -1 (not happened)."""
    return times[index] if index >= 0 else None


def window_json(frame: CandleFrame, symbol: str, timeframe: str, interval_ms: int) -> dict:
    last = int(frame.open_time_ms[-1])
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "candles": len(frame),
        "first": iso(int(frame.open_time_ms[0])),
        "last": iso(last),
        "as_of": iso(last + interval_ms),
    }


def ticker_json(symbol: str, timeframe: str, found: Ticker) -> dict:
    return {
        "symbol": symbol,
        "as_of": iso(found.close_time_ms),
        "from_timeframe": timeframe,
        "last": number(found.last),
        "open_24h": number(found.open),
        "change_24h": number(found.change),
        "change_percent_24h": number(found.change_percent),
        "high_24h": number(found.high),
        "low_24h": number(found.low),
        "volume_24h": number(found.volume),
        "quote_volume_24h": None if found.quote_volume is None else number(found.quote_volume),
        "trades_24h": found.trades,
        "complete": found.complete,
    }


def _swings(reading: SmcAnalysis, times: list[str]) -> list[dict]:
    swings, frame = reading.swings, reading.frame
    last = len(frame) - 1
    rows = [
        (int(i), "high", frame.high[i])
        for i in np.flatnonzero(swings.high)
        if i + swings.length <= last
    ] + [
        (int(i), "low", frame.low[i])
        for i in np.flatnonzero(swings.low)
        if i + swings.length <= last
    ]
    rows.sort()
    return [
        {
            "kind": kind,
            "time": times[i],
            "price": number(price),
            "known_at": times[i + swings.length],
        }
        for i, kind, price in rows[-SWINGS_SHOWN:]
    ]


def _structure(reading: SmcAnalysis, times: list[str]) -> dict:
    structure = reading.structure
    breaks = np.flatnonzero(structure.breaks)[-SHOWN:]
    return {
        "trend": direction_name(structure.trend[-1]),
        "breaks": [
            {
                "kind": "CHoCH" if structure.choch[i] else "BOS",
                "direction": direction_name(structure.breaks[i]),
                "time": times[i],
                "level": number(structure.level[i]),
                "swing_time": times[int(structure.swing_index[i])],
            }
            for i in breaks
        ],
    }


def _gaps(reading: SmcAnalysis, times: list[str]) -> list[dict]:
    gaps = reading.gaps
    return [
        {
            "direction": direction_name(gaps.direction[k]),
            "time": times[int(gaps.index[k])],
            "top": number(gaps.top[k]),
            "bottom": number(gaps.bottom[k]),
            "filled": bool(gaps.filled_index[k] >= 0),
            "filled_at": _at(times, int(gaps.filled_index[k])),
        }
        for k in range(max(0, len(gaps) - SHOWN), len(gaps))
    ]


def _blocks(reading: SmcAnalysis, times: list[str]) -> list[dict]:
    blocks = reading.blocks
    shown = range(max(0, len(blocks) - SHOWN), len(blocks))
    rows = []
    for k in shown:
        mitigated, broken = int(blocks.mitigated_index[k]), int(blocks.broken_index[k])
        state = "broken" if broken >= 0 else "mitigated" if mitigated >= 0 else "fresh"
        rows.append(
            {
                "direction": direction_name(blocks.direction[k]),
                "time": times[int(blocks.index[k])],
                "formed_at": times[int(blocks.formed_index[k])],
                "top": number(blocks.top[k]),
                "bottom": number(blocks.bottom[k]),
                "strength": number(reading.block_strength[k] * 100),
                "state": state,
                "mitigated_at": _at(times, mitigated),
                "broken_at": _at(times, broken),
            }
        )
    return rows


def _pools(reading: SmcAnalysis, times: list[str]) -> list[dict]:
    pools = reading.pools
    return [
        {
            "side": "buy" if pools.direction[k] == BULLISH else "sell",
            "level": number(pools.level[k]),
            "touches": len(pools.touches[k]),
            "touch_times": [times[int(i)] for i in pools.touches[k]],
            "formed_at": times[int(pools.formed_index[k])],
            "swept": bool(pools.swept_index[k] >= 0),
            "swept_at": _at(times, int(pools.swept_index[k])),
        }
        for k in range(max(0, len(pools) - SHOWN), len(pools))
    ]


def _dealing(reading: SmcAnalysis, times: list[str]) -> tuple[dict | None, dict | None]:
    dealing = reading.dealing
    if dealing.direction[-1] == 0:
        return None, None
    high, low = float(dealing.high[-1]), float(dealing.low[-1])
    position = float(dealing.position[-1])
    up = dealing.direction[-1] == BULLISH
    zone = "premium" if position > 0.5 else "discount" if position < 0.5 else "equilibrium"
    start, end = (low, high) if up else (high, low)
    levels = fibonacci(start, end)
    dealing_json = {
        "high": number(high),
        "low": number(low),
        "high_time": times[int(dealing.high_index[-1])],
        "low_time": times[int(dealing.low_index[-1])],
        "leg": "up" if up else "down",
        "equilibrium": number(dealing.equilibrium[-1]),
        "position_percent": number(position * 100),
        "zone": zone,
        "retracement_percent": number(dealing.retracement[-1]),
    }
    fibonacci_json = {
        "leg": "up" if up else "down",
        "start": number(start),
        "end": number(end),
        **{
            kind: [{"ratio": ratio, "price": number(price)} for ratio, price in rows]
            for kind, rows in levels.items()
        },
    }
    return dealing_json, fibonacci_json


def period_json(levels: PeriodLevels) -> dict:
    return {
        "high": number(levels.previous_high[-1]),
        "low": number(levels.previous_low[-1]),
        "whole": bool(levels.whole[-1]),
        "high_broken": bool(levels.high_broken[-1]),
        "low_broken": bool(levels.low_broken[-1]),
    }


def _sessions(reading: SmcAnalysis) -> list[dict]:
    return [
        {
            "name": session.name,
            "start": iso(int(session.start_ms[-1])),
            "active": bool(session.active[-1]),
            "high": number(session.high[-1]),
            "low": number(session.low[-1]),
        }
        for session in reading.sessions
    ]


def _patterns(reading: SmcAnalysis, times: list[str]) -> list[dict]:
    since = max(0, len(reading) - PATTERN_CANDLES)
    return [
        {
            "time": times[p.index],
            "pattern": p.code,
            "name": p.name,
            "direction": direction_name(p.direction),
            "confirmed": p.confirmed,
        }
        for p in reading.patterns.found(since)
    ]


def smc_json(reading: SmcAnalysis, day: PeriodLevels, week: PeriodLevels) -> dict:
    times = iso_times(reading.frame.open_time_ms)
    dealing, fib = _dealing(reading, times)
    return {
        "mean_true_range": number(reading.mtr[-1]),
        "swings": _swings(reading, times),
        "structure": _structure(reading, times),
        "fair_value_gaps": _gaps(reading, times),
        "order_blocks": _blocks(reading, times),
        "liquidity": _pools(reading, times),
        "dealing_range": dealing,
        "fibonacci": fib,
        "previous_day": period_json(day),
        "previous_week": period_json(week),
        "sessions": _sessions(reading),
        "patterns": _patterns(reading, times),
    }


def profile_json(levels: ProfileLevels) -> dict:
    profile = levels.profile
    middles = levels.middles

    def nodes(bins) -> list[dict]:
        shares = levels.share(bins)
        return [
            {
                "price": number(middles[b]),
                "volume": number(profile.volume[b]),
                "share": number(share),
            }
            for b, share in zip(bins, shares, strict=True)
        ]

    return {
        "poc": number(profile.poc),
        "value_area_high": number(profile.value_area_high),
        "value_area_low": number(profile.value_area_low),
        "value_area_volume": number(profile.value_area_volume),
        "total_volume": number(profile.volume.sum()),
        "high_volume_nodes": nodes(levels.high_nodes),
        "low_volume_nodes": nodes(levels.low_nodes),
        "bins": [
            {"low": number(low), "high": number(high), "volume": number(volume)}
            for low, high, volume in zip(
                profile.edges[:-1], profile.edges[1:], profile.volume, strict=True
            )
        ],
    }


def order_flow_json(frame: CandleFrame, flow: OrderFlow) -> dict:
    times = iso_times(frame.open_time_ms)
    divergences = flow.divergences
    volume = float(np.nansum(frame.volume))
    return {
        "delta": number(np.nansum(flow.delta)),
        "buy_volume": number(np.nansum(flow.buy_volume)),
        "sell_volume": number(np.nansum(flow.sell_volume)),
        "imbalance": number(np.nansum(flow.delta) / volume) if volume > 0 else 0.0,
        "unknown_candles": int(np.isnan(flow.delta).sum()),
        "items": [
            {
                "time": times[t],
                "buy_volume": number(flow.buy_volume[t]),
                "sell_volume": number(flow.sell_volume[t]),
                "delta": number(flow.delta[t]),
                "cumulative_delta": number(flow.cumulative_delta[t]),
                "imbalance": number(flow.imbalance[t]),
                "absorption": direction_name(flow.absorption[t]),
                "exhaustion": direction_name(flow.exhaustion[t]),
            }
            for t in range(len(frame))
        ],
        "divergences": [
            {
                "direction": direction_name(divergences.direction[k]),
                "first_time": times[int(divergences.first_index[k])],
                "second_time": times[int(divergences.second_index[k])],
                "known_at": times[int(divergences.known_index[k])],
            }
            for k in range(len(divergences))
        ],
    }


def confluence_json(found: Confluence) -> dict:
    return {
        "as_of": iso(found.as_of_ms),
        "price": number(found.price),
        "direction": direction_name(found.direction),
        "score": number(found.score),
        "timeframes": {
            tf: {
                "trend": direction_name(trend),
                "candles": len(found.readings[tf]),
                "last": iso(int(found.readings[tf].frame.open_time_ms[-1])),
            }
            for tf, trend in found.trends.items()
        },
        "components": [
            {
                "name": c.name,
                "weight": c.weight,
                "available": c.available,
                "part": number(c.part),
                "points": number(c.points),
                "detail": {
                    key: number(value) if isinstance(value, float) else value
                    for key, value in c.detail.items()
                },
            }
            for c in found.components
        ],
        "zones": [
            {"bottom": number(z.bottom), "top": number(z.top), "sources": list(z.sources)}
            for z in found.zones
        ],
    }


def setup_json(setup: Setup, times: list[str], size: dict) -> dict:
    return {
        "kind": setup.kind,
        "direction": "long" if setup.direction == BULLISH else "short",
        "confidence": number(setup.confidence),
        "entry": number(setup.entry),
        "stop": number(setup.stop),
        "take_profit": number(setup.take_profit),
        "take_profit_reason": setup.take_profit_reason,
        "reward_risk": number(setup.reward_risk),
        "zone": {"bottom": number(setup.zone_bottom), "top": number(setup.zone_top)},
        "zone_time": times[setup.zone_index],
        "known_at": times[setup.known_index],
        "size": size,
    }
