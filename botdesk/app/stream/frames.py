"""Events as the stream sends them: `id: <seq>`, `event: <channel>`, `data: <JSON>`.

The data is the row as the list endpoints show it (GET /api/v1/fills and so on), read when
the desk sends the event, so a change followed by another before it is sent shows the later
state twice; a row deleted since is `{"id": ..., "deleted": true}`. Each frame is built
once per desk worker and shared by every client that receives it.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, Row, Select, bindparam, select, tuple_
from sqlmodel import Session, col

from botdesk.app.api.commands import COMMANDS
from botdesk.app.api.fills import FILLS
from botdesk.app.api.orders import ORDERS
from botdesk.app.api.positions import POSITIONS
from botdesk.app.api.risk_events import RISK_EVENTS
from botdesk.app.api.rows import Resource
from botdesk.app.api.signals import SIGNALS
from botdesk.db import kill_switch
from botdesk.db.models import AuditLog, Candle, StreamEvent

AUDIT = Resource("AuditEntry", AuditLog, json_columns=frozenset({"details"}))
CANDLES = Resource("StreamCandle", Candle)
BY_ID = {
    "signals": SIGNALS,
    "orders": ORDERS,
    "fills": FILLS,
    "positions": POSITIONS,
    "risk_events": RISK_EVENTS,
    "commands": COMMANDS,
    "audit": AUDIT,
}
Reader = Session | Connection
Event = StreamEvent | Row  # a row of stream_events.after


@dataclass(frozen=True)
class Frame:
    seq: int
    channel: str
    data: bytes  # the whole event, ready to write


def sse(*, event: str, data: dict, seq: int | None = None) -> bytes:
    """One Server-Sent Event (JSON has no raw newlines, so data is one line)."""
    head = f"id: {seq}\n" if seq is not None else ""
    text = json.dumps(data, separators=(",", ":"), default=str)
    return f"{head}event: {event}\ndata: {text}\n\n".encode()


def _columns(table) -> Select:
    """The table's columns as plain rows (no ORM objects: the poller reads them every tick)."""
    return select(*table.__table__.columns)


@cache
def _by_ids(table) -> Select:
    """Rows of `table` by id, built once (the poller reads them every tick)."""
    return _columns(table).where(col(table.id).in_(bindparam("ids", expanding=True)))


def _rows_by_id(reader: Reader, resource: Resource, ids: set[int]) -> dict[int, dict]:
    found = reader.execute(_by_ids(resource.table), {"ids": sorted(ids)}).all()
    return {row.id: resource.to_json(row) for row in found}


def _candles(reader: Reader, events: list[Event]) -> dict[tuple, dict]:
    keys = {(e.symbol, e.timeframe, e.row_id) for e in events}
    statement = _columns(Candle).where(
        tuple_(col(Candle.symbol), col(Candle.timeframe), col(Candle.open_time_ms)).in_(
            sorted(keys)
        )
    )
    return {
        (row.symbol, row.timeframe, row.open_time_ms): CANDLES.to_json(row)
        for row in reader.execute(statement).all()
    }


def _kill_switch(reader: Reader) -> dict:
    if isinstance(reader, Session):
        return kill_switch.status(session=reader).as_dict()
    with Session(bind=reader) as session:
        return kill_switch.status(session=session).as_dict()


def build(*, session: Reader, events: list[Event]) -> list[Frame]:
    """The frames of `events` (numbered, oldest first), rows read in one query per channel
    through `session` (a session, or the poller's connection)."""
    wanted: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        wanted[event.channel].append(event)
    rows: dict[str, dict] = {}
    for channel, group in wanted.items():
        if channel in BY_ID:
            rows[channel] = _rows_by_id(session, BY_ID[channel], {e.row_id for e in group})
        elif channel == "candles":
            rows[channel] = _candles(session, group)
    switch = _kill_switch(session) if "kill_switch" in wanted else None
    frames = []
    for event in events:
        if event.channel == "kill_switch":
            data = switch
        elif event.channel == "candles":
            key = (event.symbol, event.timeframe, event.row_id)
            data = rows["candles"].get(key) or {"open_time_ms": event.row_id, "deleted": True}
        elif event.channel in BY_ID:
            data = rows[event.channel].get(event.row_id) or {"id": event.row_id, "deleted": True}
        else:  # a channel this desk does not know (a newer engine's): skipped, not guessed
            continue
        frames.append(
            Frame(event.seq, event.channel, sse(event=event.channel, data=data, seq=event.seq))
        )
    return frames
