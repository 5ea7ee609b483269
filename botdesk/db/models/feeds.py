"""What the engine's market-data feed offers: the symbols it can deliver, published by the
engine so the desk can refuse a bot on a symbol that would never get a candle."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import text_column, time_column


class FeedListing(SQLModel, table=True):
    __tablename__ = "feed_listing"

    feed: str = Field(primary_key=True, max_length=16)  # replay | binance (BOTDESK_FEED)
    symbols: str = text_column(nullable=False)  # JSON list, sorted
    source: str = Field(max_length=255)  # where the list came from, as the operator reads it
    listed_at: datetime = time_column(nullable=False)
    engine_id: str | None = Field(default=None, max_length=64)  # the engine that published it
