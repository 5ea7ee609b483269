"""Liquidity pools: equal highs and equal lows of two or more touches, and their sweeps.

Stops rest above equal highs (buy-side liquidity) and below equal lows (sell-side). Taking
the swing highs in order (fractal swings, each known `length` candles after it):

- a swing high starts a candidate at its price; the candidate dies at the first later
  candle whose high is above its price by more than `tolerance` (x price);
- a later swing high within `tolerance` of a live candidate's price joins it: it is now a
  **pool** of two touches at the higher of the two prices, known (`formed_index`) when that
  second swing is confirmed;
- a later swing high at or below a pool's level and within `tolerance` of it joins the
  pool as one more touch;
- a pool is **swept** at the first candle after its latest touch whose high is strictly
  above its level; a swept pool takes no more touches.

Sell-side pools mirror this with swing lows, lows, "below". A swing that could join two
live pools joins the nearest. Every decision about a swing is taken with candles up to
that swing's confirmation only, so a pool known at t, its touches confirmed by t and a
sweep at or before t come out the same whatever follows t.
"""

from dataclasses import dataclass

import numpy as np

from botdesk.engine.indicators import Swings
from botdesk.engine.indicators.zones import first_touch


@dataclass(frozen=True, eq=False)
class LiquidityPools:
    """One row per pool (two touches or more), in the order they became known.

    direction: +1 buy-side (equal highs) / -1 sell-side (equal lows); level: where the
    stops rest; touches: the swing candles, oldest first (an object array of int arrays);
    touch_known: the candle each touch became known; formed_index: when the second touch
    became known; swept_index: the first candle after the last touch trading beyond the
    level (-1 while none has)."""

    direction: np.ndarray
    level: np.ndarray
    touches: np.ndarray
    touch_known: np.ndarray
    formed_index: np.ndarray
    swept_index: np.ndarray

    def __len__(self) -> int:
        return len(self.level)


def _first_beyond(signed: np.ndarray, after: int, until: int, level: float) -> int:
    """The first candle u in after+1..until with signed[u] > level."""
    return after + 1 + int(np.argmax(signed[after + 1 : until + 1] > level))


def _side(prices: np.ndarray, mask: np.ndarray, length: int, tolerance: float, up: bool):
    """The pools of one side, as (level, touches, formed, swept) tuples."""
    sign = 1.0 if up else -1.0
    signed = sign * prices  # buy-side as is; sell-side mirrored so "above" means beyond
    live: list[dict] = []  # candidates and pools not yet swept, with the highest price
    finished: list[dict] = []  # traded since their last touch ("seen")
    swings = np.flatnonzero(mask)
    if not len(swings):
        return []
    # the highest price from after each swing of this side up to the next one, included
    starts = np.concatenate([[0], swings[:-1] + 1])
    segments = np.maximum.reduceat(signed[: swings[-1] + 1], starts).tolist()
    for swing, segment in zip(swings.tolist(), segments, strict=True):
        for pool in live:
            pool["seen"] = max(pool["seen"], segment)
        kept = []
        for pool in live:
            pooled = len(pool["touches"]) > 1
            limit = pool["level"] if pooled else pool["level"] + abs(pool["level"]) * tolerance
            if pool["seen"] <= limit:
                kept.append(pool)
            elif pooled:  # swept: by the first candle beyond it since its last touch
                pool["swept"] = _first_beyond(signed, pool["touches"][-1], swing, pool["level"])
                finished.append(pool)
        live = kept
        price = float(signed[swing])
        band = abs(price) * tolerance
        near = [
            pool
            for pool in live
            if abs(price - pool["level"]) <= band
            and (len(pool["touches"]) == 1 or price <= pool["level"])
        ]
        if near:
            pool = min(near, key=lambda p: abs(price - p["level"]))
            pool["touches"].append(swing)
            pool["level"] = max(pool["level"], price)
            pool["seen"] = -np.inf
            if len(pool["touches"]) == 2:
                pool["formed"] = swing + length
        else:
            live.append(
                {"level": price, "touches": [swing], "formed": -1, "swept": -1, "seen": -np.inf}
            )
    pools = [pool for pool in live if len(pool["touches"]) > 1]
    if pools:  # not swept by the last swing: perhaps since (all looked up at once)
        last = [pool["touches"][-1] for pool in pools]
        beyond = np.nextafter([pool["level"] for pool in pools], np.inf)
        for pool, swept in zip(pools, first_touch(signed, last, beyond, True), strict=True):
            pool["swept"] = int(swept)
        finished += pools
    return [(sign * p["level"], p["touches"], p["formed"], p["swept"]) for p in finished]


def liquidity_pools(high, low, swings: Swings, tolerance: float = 0.001) -> LiquidityPools:
    """Equal highs and lows of two or more touches (see the module docstring)."""
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    rows = [
        (direction, *pool)
        for direction, prices, mask in ((1, high, swings.high), (-1, low, swings.low))
        for pool in _side(prices, mask, swings.length, tolerance, up=direction == 1)
    ]
    rows.sort(key=lambda row: (row[3], row[0]))
    touches = np.empty(len(rows), dtype=object)
    known = np.empty(len(rows), dtype=object)
    for number, row in enumerate(rows):
        touches[number] = np.asarray(row[2], dtype=np.int64)
        known[number] = touches[number] + swings.length
    return LiquidityPools(
        direction=np.asarray([row[0] for row in rows], dtype=np.int8),
        level=np.asarray([row[1] for row in rows], dtype=np.float64),
        touches=touches,
        touch_known=known,
        formed_index=np.asarray([row[3] for row in rows], dtype=np.int64),
        swept_index=np.asarray([row[4] for row in rows], dtype=np.int64),
    )
