"""Publishing what this engine's feed offers (`feed_listing`), so the desk can refuse a bot
on a symbol the feed would never deliver.

At start, then, for a feed whose list changes (Binance), every `LISTING_SECONDS`; a
failed attempt (Binance unreachable) is retried on the job's next run, a minute later.
"""

import logging
import time
from collections.abc import Callable

from botdesk.db import feed_listings
from botdesk.engine.feeds.base import Feed, FeedError

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0  # how often the job runs: a failed attempt is retried this soon


class FeedListingJob:
    def __init__(self, runtime, feed: Feed, clock: Callable[[], float] = time.monotonic):
        self.runtime = runtime
        self.feed = feed
        self.clock = clock
        self.listed_at: float | None = None

    @property
    def due(self) -> bool:
        if self.listed_at is None:
            return True
        every = self.feed.LISTING_SECONDS
        return every is not None and self.clock() - self.listed_at >= every

    def run(self) -> bool:
        """Publish the feed's list if it is due; True when it was published now."""
        if not self.due:
            return False
        try:
            symbols, source = self.feed.listing()
        except FeedError as error:
            log.warning("cannot list the %s feed's symbols yet: %s", self.feed.name, error)
            return False
        with self.runtime.db.writing() as session:
            feed_listings.publish(
                session=session,
                feed=self.feed.name,
                symbols=symbols,
                source=source,
                engine_id=self.runtime.engine_id,
            )
        self.listed_at = self.clock()
        log.info("the %s feed offers %d symbols (%s)", self.feed.name, len(symbols), source)
        return True
