"""The symbols each market-data feed offers: published by the engine, read by the desk.

The engine publishes its feed's list when it starts (a replay: the symbols of its files;
Binance: the spot symbols exchangeInfo says are TRADING, again every hour), replacing the
feed's row. The desk refuses a bot on a symbol the list does not have, and the engine
refuses to start one, with the same message (`refusal`).
"""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from botdesk.db.models import FeedListing
from botdesk.db.types import utcnow

SHOWN_SYMBOLS = 12  # symbols named in a refusal when the list is longer


@dataclass(frozen=True)
class Offer:
    """What a feed offers: its name, its symbols, where the list came from and when."""

    feed: str
    symbols: frozenset[str]
    source: str
    listed_at: datetime | None = None  # None: read just now (not published by an engine)


def publish(
    *, session: Session, feed: str, symbols: list[str], source: str, engine_id: str | None
) -> None:
    """Replace the feed's list (an upsert: engines publishing at once do not collide)."""
    values = {
        "feed": feed,
        "symbols": json.dumps(sorted(set(symbols))),
        "source": source[:255],
        "listed_at": utcnow(),
        "engine_id": engine_id,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(FeedListing).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["feed"],
        set_={name: statement.excluded[name] for name in values if name != "feed"},
    )
    session.execute(statement)


def offer(*, session: Session, feed: str) -> Offer | None:
    """The feed's list as the engine last published it; None if no engine has yet."""
    row = session.get(FeedListing, feed)
    if row is None:
        return None
    return Offer(
        feed=row.feed,
        symbols=frozenset(json.loads(row.symbols)),
        source=row.source,
        listed_at=row.listed_at,
    )


def refusal(symbol: str, offered: Offer) -> str | None:
    """Why a bot on `symbol` would get no candle from this feed; None when it would."""
    if symbol in offered.symbols:
        return None
    if not offered.symbols:
        return f"the {offered.feed} feed offers no symbol at all ({offered.source})"
    names = sorted(offered.symbols)
    if len(names) > SHOWN_SYMBOLS:
        among = f"among its {len(names):,} symbols ({offered.source})"
        return f"the {offered.feed} feed has no {symbol} {among}"
    return f"the {offered.feed} feed has no {symbol} (it offers {', '.join(names)})"
