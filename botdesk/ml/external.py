"""External signals as features: a time series from outside the market data (sentiment,
the fear and greed index, on-chain flows: sources this machine cannot reach itself) kept
in `ml_external_point` and joined to candles causally.

A series comes from a CSV file (`botdesk ml external import NAME FILE.csv`: a header
`time,value`, the time in ISO 8601 (UTC unless it says otherwise) or epoch milliseconds,
ascending, one value a time) or, point by point, from whatever posts to the desk. Each
point is its value **as published at its time**; a point already stored is never
rewritten (a later file with another value for the same time keeps the first).

A model trained with `--external NAME` gets a column `ext_NAME`: at candle t, the latest
point with time <= t's close (open + timeframe), NaN before the first. A point stamped
after the close is not seen, so a series stamped when it was published cannot leak; a
series stamped with the period it describes but published later would, and must be
shifted to its publication time before it is imported.
"""

import csv
import math
import re
import time as clock
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from botdesk.db.models import MlExternalPoint
from botdesk.ml.feature_set import FeatureRows

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_POINTS = 1_000_000
_BATCH = 1000


class ExternalError(ValueError):
    """A series name or file that cannot be used; the message says why and where."""


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise ExternalError(
            f"{name!r} is not a series name: 1 to 40 lowercase letters, digits or _, "
            "starting with a letter"
        )
    return name


class ExternalConflict(ExternalError):
    """Points that would rewrite or backfill a stored series (the webhook appends)."""


@dataclass(frozen=True)
class Appended:
    added: int
    already_stored: int
    latest_ms: int


def parse_time(text: str, where: str) -> int:
    """Epoch milliseconds of an ISO 8601 time (UTC unless it says otherwise) or of digits."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ExternalError(
            f"{where}: {text!r} is not a time (ISO 8601 or epoch milliseconds)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def checked_value(value: float, where: str) -> float:
    if not math.isfinite(value):
        raise ExternalError(f"{where}: the value must be a finite number")
    return value


def _time_ms(text: str, line: int) -> int:
    return parse_time(text, f"line {line}")


def read_csv(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """(times in ms, values) of a `time,value` CSV; the whole file is checked first."""
    times, values = [], []
    try:
        with Path(path).open(newline="") as handle:
            reader = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(reader, [])]
            if header != ["time", "value"]:
                raise ExternalError(f"{path}: the header must be time,value (found {header})")
            for line, row in enumerate(reader, start=2):
                if len(row) != 2:
                    raise ExternalError(f"line {line}: two cells (time,value) expected")
                time = _time_ms(row[0], line)
                try:
                    value = float(row[1])
                except ValueError:
                    raise ExternalError(f"line {line}: {row[1]!r} is not a number") from None
                checked_value(value, f"line {line}")
                if times and time <= times[-1]:
                    raise ExternalError(f"line {line}: times must ascend, one value a time")
                times.append(time)
                values.append(value)
                if len(times) > MAX_POINTS:
                    raise ExternalError(f"more than {MAX_POINTS:,} points")
    except OSError as error:
        raise ExternalError(f"{path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ExternalError(f"{path}: not a text file") from None
    if not times:
        raise ExternalError(f"{path}: no points")
    return np.asarray(times, dtype=np.int64), np.asarray(values, dtype=np.float64)


def store(*, session: Session, name: str, times: np.ndarray, values: np.ndarray) -> int:
    """Add the points not stored yet; returns how many points were given."""
    check_name(name)
    records = [
        {"name": name, "time_ms": int(t), "value": float(v)}
        for t, v in zip(times, values, strict=True)
    ]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(records), _BATCH):
        statement = insert(MlExternalPoint).values(records[start : start + _BATCH])
        session.execute(statement.on_conflict_do_nothing())
    return len(records)


FUTURE_SLACK_MS = 5 * 60_000  # clocks differ a little; a point from later is refused


def append_checked(*, db, name: str, times: list[int], values: list[float]) -> Appended:
    """Append points posted to the series (the webhook): all of them or, with a message
    naming the point, none (see `botdesk.app.api.ml_external`)."""
    check_name(name)
    now_ms = int(clock.time() * 1000)
    for number, (time, earlier) in enumerate(zip(times, [None, *times], strict=False), 1):
        if earlier is not None and time <= earlier:
            raise ExternalError(f"point {number}: times must ascend, one value a time")
        if time > now_ms + FUTURE_SLACK_MS:
            raise ExternalError(
                f"point {number}: {time} is in the future; a point carries the time it "
                "was published"
            )
    with db.writing() as session:
        latest = session.exec(
            select(func.max(MlExternalPoint.time_ms)).where(MlExternalPoint.name == name)
        ).one()
        old = [i for i, time in enumerate(times) if latest is not None and time <= latest]
        stored = {}
        if old:
            stored = dict(
                session.exec(
                    select(MlExternalPoint.time_ms, MlExternalPoint.value).where(
                        MlExternalPoint.name == name,
                        col(MlExternalPoint.time_ms).in_([times[i] for i in old]),
                    )
                ).all()
            )
        for i in old:
            if times[i] not in stored:
                raise ExternalConflict(
                    f"point {i + 1}: {times[i]} is before the series' latest point "
                    f"({latest}); the webhook appends (import a history with `botdesk ml "
                    "external import`)"
                )
            if stored[times[i]] != values[i]:
                raise ExternalConflict(
                    f"point {i + 1}: {name} at {times[i]} is stored with the value "
                    f"{stored[times[i]]!r}; a stored point is never rewritten"
                )
        new = len(old)
        store(
            session=session,
            name=name,
            times=np.asarray(times[new:], dtype=np.int64),
            values=np.asarray(values[new:], dtype=np.float64),
        )
    return Appended(len(times) - new, new, max(times[-1], latest or times[-1]))


def load(*, session: Session, name: str) -> tuple[np.ndarray, np.ndarray]:
    rows = session.exec(
        select(MlExternalPoint.time_ms, MlExternalPoint.value)
        .where(MlExternalPoint.name == name)
        .order_by(col(MlExternalPoint.time_ms))
    ).all()
    if not rows:
        raise ExternalError(f"no points of the external series {name!r} are stored")
    return (
        np.fromiter((t for t, _ in rows), dtype=np.int64, count=len(rows)),
        np.fromiter((v for _, v in rows), dtype=np.float64, count=len(rows)),
    )


def as_of(times: np.ndarray, values: np.ndarray, close_ms: np.ndarray) -> np.ndarray:
    """The latest value with time <= each close time (NaN before the first point)."""
    latest = np.searchsorted(times, close_ms, side="right") - 1
    return np.where(latest >= 0, values[np.maximum(latest, 0)], np.nan)


def with_external(
    rows: FeatureRows, series: dict[str, tuple[np.ndarray, np.ndarray]], candle_ms: int
) -> FeatureRows:
    """The rows with one column `ext_<name>` per series, in the order given."""
    if not series:
        return rows
    close_ms = rows.open_time_ms + candle_ms
    columns = [as_of(times, values, close_ms) for times, values in series.values()]
    names = rows.names + tuple(f"ext_{name}" for name in series)
    values = np.column_stack([rows.values, *columns]) if len(rows) else np.empty((0, len(names)))
    return FeatureRows(rows.open_time_ms, values, names)


def load_all(db, names: tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if not names:
        return {}
    with db.reading() as session:
        return {name: load(session=session, name=name) for name in names}
