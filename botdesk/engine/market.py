"""The engine's market data in memory: one window of recent candles per (symbol, timeframe).

Closed 1m candles from the feed go in; the 5m/15m/1h/4h candles they close come out, and
every window is built once and shared by all the bots on it. The candle table holds the
same candles (written before any bot acts on them), so a restarted engine reloads its
windows from it.
"""

from collections.abc import Iterable

from sqlmodel import Session

from botdesk.db import candles as candle_store
from botdesk.engine.frames import CandleFrame
from botdesk.engine.timeframes import MINUTE_MS, TIMEFRAMES, aggregate

WINDOW_CANDLES = 600  # per (symbol, timeframe), unless a bot's strategy declares more


class MarketData:
    def __init__(self, *, window: int = WINDOW_CANDLES):
        if window < TIMEFRAMES["4h"] // MINUTE_MS:
            raise ValueError("the window must hold at least one 4h candle's worth of 1m candles")
        self.window = window
        self._frames: dict[tuple[str, str], CandleFrame] = {}
        self._sizes: dict[tuple[str, str], int] = {}  # windows grown past `window`
        self.symbols: set[str] = set()

    def frame(self, symbol: str, timeframe: str) -> CandleFrame:
        return self._frames.get((symbol, timeframe), CandleFrame.empty())

    def window_of(self, symbol: str, timeframe: str) -> int:
        """How many candles the (symbol, timeframe) window holds at most."""
        return self._sizes.get((symbol, timeframe), self.window)

    def require(self, *, session: Session, symbol: str, timeframe: str, size: int) -> None:
        """Keep at least `size` candles of (symbol, timeframe) from now on (a strategy that
        declares a longer history than the default window), reloaded from the candle table."""
        key = (symbol, timeframe)
        if size <= self.window_of(symbol, timeframe):
            return
        self._sizes[key] = size
        rows = candle_store.recent(session=session, symbol=symbol, timeframe=timeframe, limit=size)
        loaded = CandleFrame.from_rows(rows)
        known = self.frame(symbol, timeframe)
        if known.last_open_ms is not None:  # never lose candles the table does not hold yet
            loaded = CandleFrame.concat([loaded, known.after(loaded.last_open_ms or -1)])
        self._frames[key] = loaded.tail(size)

    def load(self, *, session: Session, symbol: str) -> None:
        """Fill the windows of a symbol from the candle table (after a restart)."""
        for timeframe in TIMEFRAMES:
            rows = candle_store.recent(
                session=session,
                symbol=symbol,
                timeframe=timeframe,
                limit=self.window_of(symbol, timeframe),
            )
            self._frames[(symbol, timeframe)] = CandleFrame.from_rows(rows)
        self.symbols.add(symbol)

    def add(self, symbol: str, minutes: CandleFrame) -> dict[str, CandleFrame]:
        """Take closed 1m candles (repeats are ignored); return the new closed candles per
        timeframe, 1m included, each oldest first."""
        self.symbols.add(symbol)
        known = self.frame(symbol, "1m")
        fresh = minutes.after(known.last_open_ms)
        if not len(fresh):
            return {}
        combined = CandleFrame.concat([known, fresh])
        new = {"1m": fresh}
        for timeframe, length in TIMEFRAMES.items():
            if timeframe == "1m":
                continue
            window = self.frame(symbol, timeframe)
            if window.last_open_ms is not None:
                source = combined.after(window.last_open_ms + length - 1)
            else:  # skip a leading bucket the minutes only partly cover
                first = int(combined.open_time_ms[0])
                source = combined.after(-(-first // length) * length - 1)
            closed = aggregate(source, timeframe)
            if len(closed):
                new[timeframe] = closed
                self._frames[(symbol, timeframe)] = CandleFrame.concat([window, closed]).tail(
                    self.window_of(symbol, timeframe)
                )
        self._frames[(symbol, "1m")] = combined.tail(self.window_of(symbol, "1m"))
        return new


def candle_rows(symbol: str, new: dict[str, CandleFrame]) -> Iterable[dict]:
    """The rows `botdesk.db.candles.upsert` takes, with exact Decimal prices."""
    for timeframe, frame in new.items():
        for index in range(len(frame)):
            yield {"symbol": symbol, "timeframe": timeframe, **frame.row(index)}
