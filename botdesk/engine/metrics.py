"""The engine's own counters for /metrics: candles processed and how long each took (a
histogram with Prometheus's usual buckets). Kept in memory, written to this engine's
`engine_instance.metrics` with each heartbeat; the desk's /metrics exposes them."""

import bisect
import json
import threading

# seconds; the last bucket (+Inf) is implied
CANDLE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class EngineMetrics:
    def __init__(self):
        self._lock = threading.Lock()
        self.candles = 0
        self.candle_seconds_sum = 0.0
        self.candle_buckets = [0] * (len(CANDLE_BUCKETS) + 1)  # per bucket, not cumulative

    def observe_candle(self, seconds: float, count: int = 1) -> None:
        """`count` bot-candles processed in `seconds` each (strategy, risk, orders, writes;
        a batch's time shared by its bot-candles)."""
        with self._lock:
            self.candles += count
            self.candle_seconds_sum += seconds * count
            self.candle_buckets[bisect.bisect_left(CANDLE_BUCKETS, seconds)] += count

    def as_json(self) -> str:
        with self._lock:
            return json.dumps(
                {
                    "candles": self.candles,
                    "candle_seconds_sum": round(self.candle_seconds_sum, 6),
                    "candle_buckets": list(self.candle_buckets),
                    "bucket_bounds": list(CANDLE_BUCKETS),
                }
            )
