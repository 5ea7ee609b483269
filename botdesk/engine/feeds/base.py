"""The feed interface: closed 1m candles per symbol, whatever the source.

The engine builds every other timeframe from 1m candles (`botdesk.engine.timeframes`), so a
feed only ever delivers closed 1m candles. The engine's market job calls `poll` every few
hundred milliseconds with the symbols its bots trade; the feed answers at once with what
closed since the previous call, and never blocks (a websocket feed buffers in its own
thread; a REST call for a backfill is the only slow thing allowed, once per symbol).

Contract, for the replay feed here and the Binance feed alike:

- `start(resume_after_ms)` once, before the first poll. `resume_after_ms` is the open time of
  the newest 1m candle already in the candle table (None on a fresh database): a replay
  continues right after it; a live feed ignores it (the market does not wait).
- `poll(symbols)` returns {symbol: CandleFrame of closed 1m candles, oldest first}. The first
  poll naming a symbol also returns its warm-up history (`warmup_candles` candles before the
  feed's present), so indicators have data at once; candles may repeat what is already
  stored (the candle store upserts) and later polls never go back in time.
- `unavailable(symbol)` says why a symbol gets nothing (None when it is fine), so the engine
  can tell the operator instead of waiting silently.
- `listing()` names every symbol the feed can deliver and where that list comes from; the
  engine publishes it (`feed_listing`) so the desk can refuse a bot on any other symbol.
  `LISTING_SECONDS` says how often it changes (None: never while the engine runs).
- `finished` is True when no candle will ever come again (the end of a replay).
- `stop()` releases sockets and threads.
"""

from abc import ABC, abstractmethod
from collections.abc import Collection
from typing import ClassVar

from botdesk.engine.frames import CandleFrame

DEFAULT_WARMUP_CANDLES = 1440  # one day of 1m candles


class FeedError(RuntimeError):
    """The feed cannot deliver market data; the message says what to fix."""


class Feed(ABC):
    name: ClassVar[str]
    LISTING_SECONDS: ClassVar[float | None] = None

    def __init__(self, *, warmup_candles: int = DEFAULT_WARMUP_CANDLES):
        self.warmup_candles = warmup_candles

    @abstractmethod
    def start(self, *, resume_after_ms: int | None) -> None: ...

    @abstractmethod
    def poll(self, symbols: Collection[str]) -> dict[str, CandleFrame]: ...

    def unavailable(self, symbol: str) -> str | None:
        return None

    @abstractmethod
    def listing(self) -> tuple[list[str], str]:
        """(every symbol this feed can deliver, where the list comes from); FeedError
        when it cannot be had now."""

    @property
    def finished(self) -> bool:
        return False

    def stop(self) -> None:
        return None
