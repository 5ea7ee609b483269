"""Volume-profile levels: the point of control, the value area and the volume nodes.

Built on `botdesk.engine.indicators.volume_profile` (volume spread evenly over each
candle's range, in equal price bins between the window's lowest low and highest high).
Over the bins, with m the median bin volume:

- a **high-volume node** (HVN) is a bin holding at least `high` x m that is a local peak
  (at least as much as each neighbour): prices the market accepted, which tend to hold it;
- a **low-volume node** (LVN) is an inner bin (not the first or last) holding at most
  `low` x m that is a local trough (at most as much as each neighbour): prices the
  market passed through quickly, which it tends to cross fast again.

Each node is reported at its bin's middle, with its volume and its share of the total.
"""

from dataclasses import dataclass

import numpy as np

from botdesk.engine.indicators import VolumeProfile, volume_profile

HIGH_NODE, LOW_NODE = 1.5, 0.5


@dataclass(frozen=True, eq=False)
class ProfileLevels:
    profile: VolumeProfile
    high_nodes: np.ndarray  # bin indexes
    low_nodes: np.ndarray

    @property
    def middles(self) -> np.ndarray:
        edges = self.profile.edges
        return (edges[:-1] + edges[1:]) / 2

    def share(self, bins: np.ndarray) -> np.ndarray:
        total = self.profile.volume.sum()
        return self.profile.volume[bins] / total if total > 0 else np.zeros(len(bins))


def profile_levels(
    high,
    low,
    volume,
    *,
    bins: int = 48,
    value_area: float = 0.70,
    high_node: float = HIGH_NODE,
    low_node: float = LOW_NODE,
) -> ProfileLevels:
    """The profile of the candles given and its nodes (see the module docstring)."""
    profile = volume_profile(high, low, volume, bins=bins, value_area=value_area)
    per_bin = profile.volume
    if len(per_bin) < 3:
        none = np.zeros(0, dtype=np.int64)
        return ProfileLevels(profile, none, none)
    median = float(np.median(per_bin))
    padded = np.concatenate([[-np.inf], per_bin, [-np.inf]])
    peak = (per_bin >= padded[:-2]) & (per_bin >= padded[2:])
    padded = np.concatenate([[np.inf], per_bin, [np.inf]])
    trough = (per_bin <= padded[:-2]) & (per_bin <= padded[2:])
    trough[[0, -1]] = False
    return ProfileLevels(
        profile,
        np.flatnonzero(peak & (per_bin >= high_node * median)),
        np.flatnonzero(trough & (per_bin <= low_node * median)),
    )
