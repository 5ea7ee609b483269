"""The engine's market job: poll the feed, store the candles, run the bots.

Every tick: ask the feed for the closed 1m candles of the symbols this engine's bots
trade, turn them into every timeframe (`MarketData`), write them all to the candle table
in one transaction (before any bot acts on them, so a restarted engine finds them), then
let the bot runner process what each bot has not seen yet.
"""

import logging

from sqlalchemy import update
from sqlmodel import col

from botdesk.db import candles as candle_store
from botdesk.db.models import Bot
from botdesk.engine.feeds.base import Feed
from botdesk.engine.market import MarketData, candle_rows
from botdesk.engine.runner import ACTIVE, BotRunner, active_bots

log = logging.getLogger(__name__)


class MarketJob:
    def __init__(self, runtime, feed: Feed, market: MarketData, runner: BotRunner):
        self.runtime = runtime
        self.feed = feed
        self.market = market
        self.runner = runner
        self._told_unavailable: set[str] = set()

    def start(self) -> None:
        """Reload windows from the candle table and tell the feed where to resume."""
        with self.runtime.db.reading() as session:
            resume = None
            for symbol in self._wanted_symbols(session):
                self.market.load(session=session, symbol=symbol)
                latest = candle_store.latest_open_ms(session=session, symbol=symbol)
                if latest is not None and (resume is None or latest > resume):
                    resume = latest
        self.feed.start(resume_after_ms=resume)

    def _wanted_symbols(self, session) -> set[str]:
        bots = active_bots(session=session, engine_id=self.runtime.engine_id, leased=False)
        return {bot.symbol for bot in bots}

    def tick(self) -> int:
        """One poll of the feed and one pass of the runner; returns candles processed."""
        symbols = set(self.runner.symbols)
        if not symbols:
            with self.runtime.db.reading() as session:
                symbols = self._wanted_symbols(session)
        for symbol in symbols - self.market.symbols:
            with self.runtime.db.reading() as session:
                self.market.load(session=session, symbol=symbol)
        self._tell_unavailable(symbols)
        batches = self.feed.poll(sorted(symbols))
        rows = []
        for symbol, minutes in batches.items():
            rows += candle_rows(symbol, self.market.add(symbol, minutes))
        if rows:
            with self.runtime.db.writing() as session:
                candle_store.upsert(session=session, candles=rows)
        return self.runner.run()

    def _tell_unavailable(self, symbols: set[str]) -> None:
        """A bot on a symbol the feed does not have says so instead of waiting silently."""
        for symbol in symbols - self._told_unavailable:
            reason = self.feed.unavailable(symbol)
            if reason is None:
                continue
            self._told_unavailable.add(symbol)
            log.warning("%s", reason)
            with self.runtime.db.writing() as session:
                session.execute(
                    update(Bot)
                    .where(Bot.symbol == symbol, col(Bot.status).in_(ACTIVE))
                    .values(status_reason=f"waiting for market data: {reason}")
                )
