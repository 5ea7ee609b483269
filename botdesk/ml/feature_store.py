"""The feature store: the rows of the feature set per (symbol, timeframe, candle) in the
shared database, where the engine and the desk both read them.

Rows are appended, never rewritten: `update` computes only the candles after the last
stored row (see `feature_set` for why such a row equals the one a computation over the
whole history gives), and the insert skips a row another process stored first. A feature
set whose definition changed without a new version is refused (`FeatureSetChanged`).
"""

import json
import logging

import numpy as np
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from botdesk.db.models import MlFeature, MlFeatureSet
from botdesk.engine.backtest.data import CANDLES, load_candles
from botdesk.engine.timeframes import timeframe_ms
from botdesk.ml import feature_set
from botdesk.ml.feature_set import FeatureRows

log = logging.getLogger(__name__)
_BATCH = 500


class FeatureSetChanged(RuntimeError):
    """The code's feature set differs from the stored one of the same version."""


def ensure_feature_set(*, session: Session) -> MlFeatureSet:
    """The stored row of the code's feature-set version, created the first time."""
    stored = session.get(MlFeatureSet, feature_set.VERSION)
    if stored is None:
        stored = MlFeatureSet(
            version=feature_set.VERSION,
            fingerprint=feature_set.fingerprint(),
            names=json.dumps(list(feature_set.names())),
        )
        session.add(stored)
        session.flush()
    elif stored.fingerprint != feature_set.fingerprint():
        raise FeatureSetChanged(
            f"feature set version {stored.version} was stored with another definition "
            f"(fingerprint {stored.fingerprint[:12]}, the code's is "
            f"{feature_set.fingerprint()[:12]}): give the changed definition a new "
            "VERSION in botdesk/ml/feature_set.py instead of changing version "
            f"{stored.version}'s rows"
        )
    return stored


def last_stored_ms(*, session: Session, symbol: str, timeframe: str) -> int | None:
    return session.exec(
        select(func.max(MlFeature.open_time_ms)).where(
            MlFeature.feature_set_version == feature_set.VERSION,
            MlFeature.symbol == symbol,
            MlFeature.timeframe == timeframe,
        )
    ).one()


def append(*, session: Session, symbol: str, timeframe: str, rows: FeatureRows) -> int:
    """Store the rows after the last stored one; returns how many were new."""
    ensure_feature_set(session=session)
    if rows.names != feature_set.names():
        raise FeatureSetChanged("these rows do not have the feature set's columns")
    rows = rows.after(last_stored_ms(session=session, symbol=symbol, timeframe=timeframe))
    values = np.ascontiguousarray(rows.values, dtype="<f8")
    records = [
        {
            "feature_set_version": feature_set.VERSION,
            "symbol": symbol,
            "timeframe": timeframe,
            "open_time_ms": int(time),
            "values": values[index].tobytes(),
        }
        for index, time in enumerate(rows.open_time_ms)
    ]
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql_insert if postgres else sqlite_insert
    for start in range(0, len(records), _BATCH):
        statement = insert(MlFeature).values(records[start : start + _BATCH])
        session.execute(statement.on_conflict_do_nothing())
    return len(records)


def read(
    *,
    session: Session,
    symbol: str,
    timeframe: str,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> FeatureRows:
    """Stored rows with from_ms <= open time <= to_ms, oldest first."""
    query = select(MlFeature.open_time_ms, MlFeature.values).where(
        MlFeature.feature_set_version == feature_set.VERSION,
        MlFeature.symbol == symbol,
        MlFeature.timeframe == timeframe,
    )
    if from_ms is not None:
        query = query.where(MlFeature.open_time_ms >= from_ms)
    if to_ms is not None:
        query = query.where(MlFeature.open_time_ms <= to_ms)
    found = session.exec(query.order_by(col(MlFeature.open_time_ms))).all()
    names = feature_set.names()
    if not found:
        return FeatureRows(np.empty(0, np.int64), np.empty((0, len(names))), names)
    times = np.fromiter((time for time, _ in found), dtype=np.int64, count=len(found))
    values = np.frombuffer(b"".join(blob for _, blob in found), dtype="<f8")
    return FeatureRows(times, values.reshape(len(found), len(names)).astype(np.float64), names)


def update(db, *, symbol: str, timeframe: str, max_rows: int | None = None) -> int:
    """Compute and store the rows of the stored candles that have none yet (the engine's
    job, `botdesk ml features`), at most about `max_rows` of them (the engine's job keeps
    each run short); returns how many rows were added."""
    candle_ms = timeframe_ms(timeframe)
    with db.reading() as session:
        ensure_feature_set(session=session)
        last = last_stored_ms(session=session, symbol=symbol, timeframe=timeframe)
    from_ms = None
    if last is not None:
        block_start = int(feature_set.block_of(np.array([last]), candle_ms)[0])
        block_start *= feature_set.BLOCK * candle_ms
        # twice the warm-up in time, so a gap in the candles still leaves the full warm-up
        from_ms = block_start - 2 * feature_set.WARMUP * candle_ms
    candles = load_candles(CANDLES, symbol=symbol, timeframe=timeframe, db=db, from_ms=from_ms)
    if max_rows is not None:  # the rows up to a cut are the same rows (see feature_set)
        if last is None:  # the first row is at the first block start with its warm-up
            blocks = feature_set.block_of(candles.open_time_ms, candle_ms)
            starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
            warm = starts[starts >= feature_set.WARMUP]
            first = int(warm[0]) if len(warm) else len(candles)
        else:
            first = int(np.searchsorted(candles.open_time_ms, last, "right"))
        candles = candles[: first + max_rows]
    rows = feature_set.compute(candles, candle_ms, after_ms=last)
    if not len(rows):
        return 0
    with db.writing() as session:
        added = append(session=session, symbol=symbol, timeframe=timeframe, rows=rows)
    log.info("feature store: %d new rows of %s %s", added, symbol, timeframe)
    return added
