"""The feature store on both databases: rows appended as candles arrive, equal to the rows
of the whole history, never rewritten, and a changed definition refused."""

import numpy as np
import pytest
from sqlmodel import select

from botdesk.db import candles as candle_store
from botdesk.db.models import MlFeature, MlFeatureSet
from botdesk.ml import feature_set, feature_store
from botdesk.ml.feature_store import FeatureSetChanged

FIVE_MINUTES = 300_000


def _store_candles(db, frame, start: int, end: int) -> None:
    with db.writing() as session:
        candle_store.upsert(
            session=session,
            candles=[
                {"symbol": "BTCUSDT", "timeframe": "5m", **frame.row(i)} for i in range(start, end)
            ],
        )


def _stored(db):
    with db.reading() as session:
        return feature_store.read(session=session, symbol="BTCUSDT", timeframe="5m")


def test_rows_are_added_as_candles_arrive_and_equal_the_whole_history(db, btc_5m):
    frame = btc_5m[:1500]
    _store_candles(db, frame, 0, 1300)
    first = feature_store.update(db, symbol="BTCUSDT", timeframe="5m")
    assert first > 0
    assert feature_store.update(db, symbol="BTCUSDT", timeframe="5m") == 0
    for end in (1301, 1302, 1450, 1500):
        _store_candles(db, frame, end - 1 if end < 1450 else 1302, end)
        feature_store.update(db, symbol="BTCUSDT", timeframe="5m")
    stored = _stored(db)
    whole = feature_set.compute(frame, FIVE_MINUTES)
    assert np.array_equal(stored.open_time_ms, whole.open_time_ms)
    assert np.array_equal(stored.values, whole.values, equal_nan=True)
    assert stored.names == feature_set.names()


def test_a_stored_row_is_never_recomputed(db, btc_5m):
    frame = btc_5m[:1400]
    _store_candles(db, frame, 0, 1300)
    feature_store.update(db, symbol="BTCUSDT", timeframe="5m")
    before = _stored(db)
    # the feed sends an old candle again with other prices: its stored row stays as it was
    changed = frame.copy()
    changed.close[1250] *= 1.05
    changed.high[1250] = max(changed.high[1250], changed.close[1250])
    _store_candles(db, changed, 1250, 1251)
    _store_candles(db, frame, 1300, 1400)
    added = feature_store.update(db, symbol="BTCUSDT", timeframe="5m")
    assert added == 100
    after = _stored(db)
    old = after.open_time_ms <= before.open_time_ms[-1]
    assert np.array_equal(after.values[old], before.values, equal_nan=True)


def test_a_feature_set_changed_without_a_new_version_is_refused(db, btc_5m):
    _store_candles(db, btc_5m, 0, 1300)
    feature_store.update(db, symbol="BTCUSDT", timeframe="5m")
    with db.writing() as session:
        session.get(MlFeatureSet, feature_set.VERSION).fingerprint = "0" * 64
    _store_candles(db, btc_5m, 1300, 1310)
    with pytest.raises(FeatureSetChanged, match="new VERSION"):
        feature_store.update(db, symbol="BTCUSDT", timeframe="5m")
    with db.reading() as session:
        latest = max(session.exec(select(MlFeature.open_time_ms)).all())
    assert latest == btc_5m.open_time_ms[1299]


def test_the_engine_job_fills_the_store_of_champion_markets_in_short_runs(db, btc_5m):
    import json

    from botdesk.db.models import MlModel
    from botdesk.ml import feature_job

    frame = btc_5m[:1500]
    _store_candles(db, frame, 0, 1500)
    assert feature_job.update_champion_markets(db) == 0  # no champion: nothing to do
    with db.writing() as session:
        feature_store.ensure_feature_set(session=session)
        session.add(
            MlModel(
                symbol="BTCUSDT",
                timeframe="5m",
                feature_set_version=feature_set.VERSION,
                data_source="test",
                label=json.dumps({"kind": "forward", "horizon": 12, "threshold": 0.01}),
                params="{}",
                train_from_ms=0,
                train_to_ms=0,
                report="{}",
                importance="{}",
                artifact=b"x",
                artifact_sha256="",
                status="champion",
                created_by="test",
            )
        )
    runs = []
    # 50 rows a run: fewer than the 62 candles between the warm-up and the first block
    while added := feature_job.update_champion_markets(db, max_rows=50):
        assert added <= 50
        runs.append(added)
    assert len(runs) >= 20
    whole = feature_set.compute(frame, FIVE_MINUTES)
    stored = _stored(db)
    assert sum(runs) == len(whole)
    assert np.array_equal(stored.values, whole.values, equal_nan=True)
