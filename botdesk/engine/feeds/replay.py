"""The replay feed: real 1m klines from CSV files, released at a chosen speed.

One clock drives every symbol, so symbols stay aligned as they were on the exchange. At
speed S a 1m candle closes every 60/S seconds of wall time. On a fresh database the replay
begins `warmup_candles` minutes into the data (that first day is the warm-up history the
first poll returns at once); after a restart it continues right after the newest stored
candle. When the data runs out the feed is `finished` and the engine idles.
"""

import logging
import time
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np

from botdesk.engine.feeds.base import DEFAULT_WARMUP_CANDLES, Feed, FeedError
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import (
    DEFAULT_MAX_GAP_MS,
    KlineFileError,
    format_ms,
    load_klines,
    name_parts,
)
from botdesk.engine.sample_data import SAMPLE_FOLDER
from botdesk.engine.timeframes import MINUTE_MS

log = logging.getLogger(__name__)

MAX_CANDLES_PER_POLL = 240  # after a stall, catch up in bounded steps


def replay_files(path: Path | None) -> list[Path]:
    """The kline files a replay of `path` reads (a CSV, a folder of them, or the bundled
    sample when None), without reading them. Raises FeedError when there are none."""
    source = Path(path) if path is not None else SAMPLE_FOLDER
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() == ".csv")
        if not files:
            raise FeedError(f"replay data: no .csv file in {source}")
        return files
    if source.exists():
        return [source]
    raise FeedError(f"replay data: {source} does not exist (BOTDESK_REPLAY_DATA)")


def replay_symbols(path: Path | None) -> list[str]:
    """The symbols a replay of `path` offers, told by its file names (SYMBOL-1m.csv), as
    `load_replay_data` names them; the files are not read."""
    symbols = set()
    for file in replay_files(path):
        symbol, interval = name_parts(file)
        if symbol is not None and interval in (None, "1m"):
            symbols.add(symbol)
    return sorted(symbols)


def replay_source(path: Path | None) -> str:
    return f"the replay of {Path(path) if path is not None else 'the bundled sample'}"


def load_replay_data(path: Path | None, *, max_gap_ms: int = DEFAULT_MAX_GAP_MS):
    """{symbol: 1m CandleFrame} from a kline CSV, a folder of them, or the bundled sample.

    Raises FeedError with a message naming the file (and line) at fault.
    """
    source = Path(path) if path is not None else SAMPLE_FOLDER
    files = replay_files(path)
    data: dict[str, CandleFrame] = {}
    for file in files:
        try:
            klines = load_klines(file, max_gap_ms=max_gap_ms)
        except KlineFileError as error:
            raise FeedError(f"replay data: {error}") from None
        if klines.interval != "1m":
            raise FeedError(
                f"replay data: {file} holds {klines.interval} candles; the replay needs 1m "
                "klines (the engine builds 5m, 15m, 1h and 4h from them)"
            )
        if klines.symbol is None:
            raise FeedError(f"replay data: cannot tell the symbol of {file}: name it SYMBOL-1m.csv")
        if klines.symbol in data:
            raise FeedError(f"replay data: two files for {klines.symbol} in {source}")
        data[klines.symbol] = klines.candles
    return data


class ReplayFeed(Feed):
    name = "replay"

    def __init__(
        self,
        data: dict[str, CandleFrame],
        *,
        speed: float,
        warmup_candles: int = DEFAULT_WARMUP_CANDLES,
        clock: Callable[[], float] = time.monotonic,
        source: str = "the replay",
    ):
        super().__init__(warmup_candles=warmup_candles)
        if speed <= 0:
            raise FeedError("replay speed must be above 0")
        self.data = data
        self.source = source
        self.speed = speed
        self._clock = clock
        self._started_at: float | None = None
        self._start_ms = 0  # replay time (a candle close) at _started_at
        self._sent_until: dict[str, int] = {}  # per symbol: close time of the last candle sent
        self._end_ms = max((int(f.open_time_ms[-1]) + MINUTE_MS for f in data.values()), default=0)
        self._finished_logged = False

    def start(self, *, resume_after_ms: int | None) -> None:
        first = min(int(frame.open_time_ms[0]) for frame in self.data.values())
        if resume_after_ms is None:
            self._start_ms = first + self.warmup_candles * MINUTE_MS
        else:
            self._start_ms = max(resume_after_ms + MINUTE_MS, first)
        self._started_at = self._clock()
        log.info(
            "replaying %s from %s at %gx",
            ", ".join(sorted(self.data)),
            format_ms(self._start_ms),
            self.speed,
        )

    @property
    def present_ms(self) -> int:
        """Replay time now: candles that closed at or before it have been released."""
        if self._started_at is None:
            raise FeedError("the replay feed was polled before start()")
        elapsed = (self._clock() - self._started_at) * self.speed * 1000
        return min(self._start_ms + int(elapsed), self._end_ms)

    def poll(self, symbols: Collection[str]) -> dict[str, CandleFrame]:
        present = self.present_ms
        batches = {}
        for symbol in symbols:
            frame = self.data.get(symbol)
            if frame is None:
                continue
            sent = self._sent_until.get(symbol)
            if sent is None:
                sent = self._start_ms - self.warmup_candles * MINUTE_MS
                limit = present
            else:
                limit = min(present, sent + MAX_CANDLES_PER_POLL * MINUTE_MS)
            closes = frame.open_time_ms + MINUTE_MS
            start = int(np.searchsorted(closes, sent, side="right"))
            stop = int(np.searchsorted(closes, limit, side="right"))
            self._sent_until[symbol] = max(sent, limit)
            if stop > start:
                batches[symbol] = frame[start:stop]
        if self.finished and not self._finished_logged:
            self._finished_logged = True
            log.info("replay finished at %s: no more candles", format_ms(self._end_ms))
        return batches

    def listing(self) -> tuple[list[str], str]:
        return sorted(self.data), self.source

    def unavailable(self, symbol: str) -> str | None:
        if symbol in self.data:
            return None
        return f"the replay has no data for {symbol} (it has {', '.join(sorted(self.data))})"

    @property
    def finished(self) -> bool:
        return (
            self._started_at is not None
            and self.present_ms >= self._end_ms
            and all(self._sent_until.get(s, 0) >= self._end_ms for s in self._sent_until)
        )
