"""The symbols each feed offers, as the engine publishes them and the desk and the engine's
bot.start read them: replaced whole on each publication, and the refusal's words."""

from datetime import datetime

from sqlmodel import select

from botdesk.db import feed_listings
from botdesk.db.feed_listings import Offer
from botdesk.db.models import FeedListing


def publish(db, feed: str, symbols: list[str], engine_id: str = "engine-1") -> None:
    with db.writing() as session:
        feed_listings.publish(
            session=session, feed=feed, symbols=symbols, source="the test", engine_id=engine_id
        )


def offer(db, feed: str) -> Offer | None:
    with db.reading() as session:
        return feed_listings.offer(session=session, feed=feed)


def test_a_publication_replaces_the_feeds_list_and_leaves_other_feeds_alone(db):
    assert offer(db, "replay") is None
    publish(db, "replay", ["ETHUSDT", "BTCUSDT", "ETHUSDT"])
    publish(db, "binance", ["BTCUSDT", "DOGEUSDT"])
    first = offer(db, "replay")
    assert first.symbols == {"BTCUSDT", "ETHUSDT"} and isinstance(first.listed_at, datetime)
    publish(db, "replay", ["SOLUSDT"], engine_id="engine-2")
    again = offer(db, "replay")
    assert again.symbols == {"SOLUSDT"} and again.listed_at >= first.listed_at
    assert offer(db, "binance").symbols == {"BTCUSDT", "DOGEUSDT"}
    with db.reading() as session:
        rows = session.exec(select(FeedListing).order_by(FeedListing.feed)).all()
    assert [(row.feed, row.engine_id, row.symbols) for row in rows] == [
        ("binance", "engine-1", '["BTCUSDT", "DOGEUSDT"]'),
        ("replay", "engine-2", '["SOLUSDT"]'),
    ]


def test_the_refusal_names_what_the_feed_offers_or_how_many():
    replay = Offer(feed="replay", symbols=frozenset({"BTCUSDT", "ETHUSDT"}), source="files")
    assert feed_listings.refusal("BTCUSDT", replay) is None
    assert (
        feed_listings.refusal("DOGEUSDT", replay)
        == "the replay feed has no DOGEUSDT (it offers BTCUSDT, ETHUSDT)"
    )
    many = Offer(
        feed="binance",
        symbols=frozenset(f"C{n:04d}USDT" for n in range(2000)),
        source="Binance live exchangeInfo, spot symbols TRADING",
    )
    assert feed_listings.refusal("DOGEUSDX", many) == (
        "the binance feed has no DOGEUSDX among its 2,000 symbols "
        "(Binance live exchangeInfo, spot symbols TRADING)"
    )
    empty = Offer(feed="replay", symbols=frozenset(), source="an empty folder")
    assert "offers no symbol at all" in feed_listings.refusal("BTCUSDT", empty)
