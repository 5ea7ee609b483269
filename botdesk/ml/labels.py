"""Labels: what a model is asked to predict at the close of candle t, BUY, SELL or HOLD.

Both kinds look at the `horizon` candles after t (t+1 .. t+horizon, the label window) and
nothing else; the last `horizon` candles of a history have no label (NaN).

- **forward**: r = close[t+horizon] / close[t] - 1; BUY when r > threshold, SELL when
  r < -threshold, HOLD otherwise;
- **triple_barrier**: from close[t], a take-profit barrier take_profit x ATR(14)[t] above
  and a stop-loss barrier stop_loss x ATR(14)[t] below; BUY when a candle's high reaches
  the upper barrier first, SELL when a low reaches the lower one first (both in the same
  candle: SELL, the stop first as in the fill rules), HOLD when neither is reached within
  the horizon (the time barrier).

A label spec is written `forward:horizon=12,threshold=0.01` or
`triple_barrier:horizon=24,take_profit=2,stop_loss=1` on the command line.
"""

from dataclasses import asdict, dataclass

import numpy as np

from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import atr

SELL, HOLD, BUY = -1, 0, 1
CLASSES = (SELL, HOLD, BUY)  # a model's class k is CLASSES[k]
CLASS_NAMES = {SELL: "sell", HOLD: "hold", BUY: "buy"}
FORWARD, TRIPLE_BARRIER = "forward", "triple_barrier"
MAX_HORIZON = 1000


class LabelError(ValueError):
    """A label spec that cannot be used; the message says why."""


@dataclass(frozen=True)
class LabelSpec:
    kind: str = FORWARD
    horizon: int = 12
    threshold: float = 0.01  # forward
    take_profit: float = 2.0  # triple barrier, in ATR(14)
    stop_loss: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in (FORWARD, TRIPLE_BARRIER):
            raise LabelError(f"unknown label kind {self.kind!r}; use {FORWARD} or {TRIPLE_BARRIER}")
        if not 1 <= self.horizon <= MAX_HORIZON:
            raise LabelError(f"horizon must be 1 to {MAX_HORIZON} candles, not {self.horizon}")
        for name in ("threshold", "take_profit", "stop_loss"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0 < value <= 100):
                raise LabelError(f"{name} must be above 0 and at most 100, not {value}")

    def as_dict(self) -> dict:
        fields = ("kind", "horizon") + (
            ("threshold",) if self.kind == FORWARD else ("take_profit", "stop_loss")
        )
        return {name: asdict(self)[name] for name in fields}

    def describe(self) -> str:
        parts = ",".join(f"{k}={v}" for k, v in self.as_dict().items() if k != "kind")
        return f"{self.kind}:{parts}"

    @classmethod
    def parse(cls, text: str) -> "LabelSpec":
        kind, _, rest = text.strip().partition(":")
        values: dict = {"kind": kind.strip()}
        for part in filter(None, (p.strip() for p in rest.split(","))):
            name, equals, value = part.partition("=")
            name = name.strip()
            if not equals or name not in ("horizon", "threshold", "take_profit", "stop_loss"):
                raise LabelError(
                    f"cannot read {part!r} in the label {text!r}: write e.g. "
                    "forward:horizon=12,threshold=0.01 or "
                    "triple_barrier:horizon=24,take_profit=2,stop_loss=1"
                )
            try:
                values[name] = int(value) if name == "horizon" else float(value)
            except ValueError:
                raise LabelError(f"{name} must be a number, not {value!r}") from None
        return cls(**values)


def label(candles: CandleFrame, spec: LabelSpec) -> np.ndarray:
    """One label per candle (float64: -1, 0, 1, or NaN without a full label window)."""
    if spec.kind == FORWARD:
        return forward_labels(candles.close, spec.horizon, spec.threshold)
    return triple_barrier_labels(candles, spec.horizon, spec.take_profit, spec.stop_loss)


def forward_labels(close: np.ndarray, horizon: int, threshold: float) -> np.ndarray:
    out = np.full(len(close), np.nan)
    if len(close) > horizon:
        change = close[horizon:] / close[:-horizon] - 1
        down = np.where(change < -threshold, SELL, HOLD)
        out[:-horizon] = np.where(change > threshold, BUY, down)
    return out


def triple_barrier_labels(
    candles: CandleFrame, horizon: int, take_profit: float, stop_loss: float
) -> np.ndarray:
    close, high, low = candles.close, candles.high, candles.low
    count = len(close)
    out = np.full(count, np.nan)
    if count <= horizon:
        return out
    unit = atr(high, low, close, 14)
    upper, lower = close + take_profit * unit, close - stop_loss * unit
    first_up = np.full(count, horizon + 1)
    first_down = np.full(count, horizon + 1)
    rows = np.arange(count - horizon)
    for step in range(horizon, 0, -1):  # the last write is the earliest candle
        hit_up = high[rows + step] >= upper[rows]
        hit_down = low[rows + step] <= lower[rows]
        first_up[rows[hit_up]] = step
        first_down[rows[hit_down]] = step
    labelled = rows[np.isfinite(unit[rows])]
    up, down = first_up[labelled], first_down[labelled]
    out[labelled] = np.where(
        (down <= horizon) & (down <= up), SELL, np.where(up <= horizon, BUY, HOLD)
    )
    return out
