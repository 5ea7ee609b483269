"""The engine's counters for /metrics: candles and their latency histogram, written to its
engine_instance row with each heartbeat."""

import json

from botdesk.db.models import EngineInstance
from botdesk.engine.heartbeat import Heartbeat
from botdesk.engine.metrics import CANDLE_BUCKETS, EngineMetrics
from tests.engine.driving import runtime_for


def test_candles_fall_in_their_buckets():
    metrics = EngineMetrics()
    for seconds in (0.0005, 0.001, 0.0011, 0.3, 99.0):
        metrics.observe_candle(seconds)
    figures = json.loads(metrics.as_json())
    assert figures["candles"] == 5
    assert figures["bucket_bounds"] == list(CANDLE_BUCKETS)
    buckets = dict(zip([*CANDLE_BUCKETS, "inf"], figures["candle_buckets"], strict=True))
    assert buckets[0.001] == 2  # a bound is inclusive (le)
    assert buckets[0.0025] == 1 and buckets[0.5] == 1 and buckets["inf"] == 1
    assert abs(figures["candle_seconds_sum"] - 99.3026) < 1e-6


def test_each_heartbeat_writes_the_counters_to_the_instance_row(db):
    runtime = runtime_for(db, engine_id="engine-metrics")
    with db.writing() as session:
        session.add(EngineInstance(id="engine-metrics", hostname="h", pid=1, feed="replay"))
    runtime.metrics.observe_candle(0.004)
    Heartbeat(runtime).beat()
    with db.reading() as session:
        row = session.get(EngineInstance, "engine-metrics")
    assert json.loads(row.metrics)["candles"] == 1 and row.last_beat is not None
