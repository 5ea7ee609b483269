"""The stream's change log: one row per change a `/api/v1/stream` client may be told of.

Rows are written by database triggers (migration stream_1) in the transaction that made
the change, whoever made it (engine, desk, CLI), so a change and its event commit or roll
back together. `seq` is stamped later, in commit order, by the desk's stream poller: it is
the event id clients see and resume from (see db/stream_events.py for why not `id`).
"""

from sqlalchemy import BigInteger, Index, Integer
from sqlmodel import Field, SQLModel


class StreamEvent(SQLModel, table=True):
    __tablename__ = "stream_event"
    __table_args__ = (
        Index("uq_stream_event_seq", "seq", unique=True),
        Index("ix_stream_event_at_ms", "at_ms"),
    )

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    seq: int | None = Field(default=None, sa_type=BigInteger)  # None until stamped
    channel: str = Field(max_length=16)  # signals | orders | fills | ... (CHANNELS)
    row_id: int = Field(sa_type=BigInteger)  # the row's id; a candle's open_time_ms
    symbol: str | None = Field(default=None, max_length=20)  # candles only
    timeframe: str | None = Field(default=None, max_length=8)  # candles only
    at_ms: int = Field(sa_type=BigInteger)  # when the change was written, ms since the epoch
