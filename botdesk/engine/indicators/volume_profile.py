"""Volume profile, our own: how much volume traded at each price over a window of candles."""

from dataclasses import dataclass

import numpy as np
from numba import njit

from botdesk.engine.indicators.shared import shared


@dataclass(frozen=True, eq=False)
class VolumeProfile:
    """edges: bins+1 ascending prices; volume: the volume in each bin; poc: the point of
    control; value_area_low/high: the value area's bounds; value_area_volume: its volume."""

    edges: np.ndarray
    volume: np.ndarray
    poc: float
    value_area_low: float
    value_area_high: float
    value_area_volume: float


@njit(cache=True)
def value_area_bins(per_bin, poc_bin, target):
    """(lowest bin, highest bin, volume) of the value area: the POC bin, grown one bin at
    a time towards the neighbour holding more volume (above on a tie) until it holds at
    least `target` or spans every bin."""
    last = len(per_bin) - 1
    below, above = poc_bin, poc_bin
    area = per_bin[poc_bin]
    while area < target and (below > 0 or above < last):
        up = per_bin[above + 1] if above < last else -1.0
        down = per_bin[below - 1] if below > 0 else -1.0
        if up >= down:
            above += 1
            area += up
        else:
            below -= 1
            area += down
    return below, above, area


@shared
def volume_profile(high, low, volume, bins: int = 24, value_area: float = 0.70) -> VolumeProfile:
    """Volume by price between the lowest low and the highest high, in `bins` equal bins.

    Each candle's volume is spread evenly over its range [low, high]: a bin receives the
    share of the range it overlaps. A candle with high == low puts all its volume in the
    bin holding that price (the top edge belongs to the last bin). The point of control
    (POC) is the middle of the bin with the most volume (the lowest such bin on a tie).
    The value area starts as the POC bin and grows one bin at a time towards whichever
    neighbouring bin (just above or just below it) holds more volume (above on a tie),
    until it holds at least `value_area` of the total; its low and high are the outer
    edges of its lowest and highest bins.
    """
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    volume = np.asarray(volume, dtype=np.float64)
    if not len(high):
        raise ValueError("a volume profile needs at least one candle")
    if bins < 1 or not 0 < value_area <= 1:
        raise ValueError("bins must be at least 1 and value_area within (0, 1]")
    bottom, top = float(low.min()), float(high.max())
    if top == bottom:
        edges = np.array([bottom, top])
        return VolumeProfile(edges, np.array([volume.sum()]), top, bottom, top, volume.sum())
    edges = np.linspace(bottom, top, bins + 1)
    ranged = high > low
    overlap = np.clip(
        np.minimum(high[ranged, None], edges[None, 1:])
        - np.maximum(low[ranged, None], edges[None, :-1]),
        0.0,
        None,
    )
    per_bin = (overlap / (high[ranged] - low[ranged])[:, None] * volume[ranged, None]).sum(axis=0)
    flat_bins = np.clip(np.searchsorted(edges, high[~ranged], side="right") - 1, 0, bins - 1)
    per_bin += np.bincount(flat_bins, weights=volume[~ranged], minlength=bins)
    poc_bin = int(np.argmax(per_bin))
    below, above, area = value_area_bins(per_bin, poc_bin, value_area * per_bin.sum())
    return VolumeProfile(
        edges=edges,
        volume=per_bin,
        poc=float((edges[poc_bin] + edges[poc_bin + 1]) / 2),
        value_area_low=float(edges[below]),
        value_area_high=float(edges[above + 1]),
        value_area_volume=float(area),
    )
