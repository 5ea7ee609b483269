"""The Binance feed (BOTDESK_FEED=binance): closed 1m klines from Binance itself.

The first poll naming a symbol backfills its warm-up history over REST (`GET
/api/v3/klines`, 1000 per page) and subscribes to its kline websocket through
python-binance's `ThreadedWebsocketManager`. The websocket callback only queues the
message; `poll` drains the queue in the engine's thread and keeps closed candles only
(`k.x`). Whenever the next closed candle is not the one right after the last delivered
(a reconnect lost messages, or the stream went quiet for more than three minutes), the
gap is backfilled over REST first, so candles stay contiguous. A stream that reports an
error is restarted with a backoff doubling from 1 s to 60 s.

Market data is public: no API key is needed. BOTDESK_BINANCE_MARKET_DATA chooses live
(the default: the real market) or testnet; BOTDESK_BINANCE_REST_URL and
BOTDESK_BINANCE_STREAM_URL point it elsewhere (a local test server).
"""

import asyncio
import logging
import queue
import time
from collections.abc import Callable, Collection

from binance.async_client import AsyncClient
from binance.ws.streams import BinanceSocketManager, ThreadedWebsocketManager

from botdesk.engine.brokers.binance_rest import ExchangeError
from botdesk.engine.feeds.base import DEFAULT_WARMUP_CANDLES, Feed, FeedError
from botdesk.engine.feeds.binance_history import public_rest
from botdesk.engine.frames import FLOW_COLUMNS, CandleFrame
from botdesk.engine.timeframes import MINUTE_MS

log = logging.getLogger(__name__)

PAGE = 1000
QUIET_MS = 3 * MINUTE_MS  # no closed candle for this long: fetch over REST
# a kline message's fields in our order: open, high, low, close, volume, then the flow
STREAM_FIELDS = ("o", "h", "l", "c", "v", "q", "n", "V", "Q")
BACKOFF_FIRST, BACKOFF_MOST = 1.0, 60.0


class _Sockets(ThreadedWebsocketManager):
    """ThreadedWebsocketManager without its start-up ping of the REST API, and with the
    stream URL of our choosing."""

    def __init__(self, *, testnet: bool, stream_url: str | None):
        super().__init__(testnet=testnet, loop=asyncio.new_event_loop())  # a loop of its own
        self.daemon = True
        self.stream_url = stream_url

    def _start_async_socket(self, callback, socket_name, params, path=None) -> str:
        # python-binance builds the socket in the calling thread, where it would bind to
        # that thread's (idle) event loop: build it on the manager's own loop instead.
        while not self._bsm:
            time.sleep(0.05)

        async def build():
            return getattr(self._bsm, socket_name)(**params)

        socket = asyncio.run_coroutine_threadsafe(build(), self._loop).result(10)
        socket_path = path or socket._path
        self._socket_running[socket_path] = True
        self._loop.call_soon_threadsafe(
            asyncio.create_task, self.start_listener(socket, socket_path, callback)
        )
        return socket_path

    async def socket_listener(self):
        self._client = AsyncClient(testnet=self._client_params["testnet"], loop=self._loop)
        self._bsm = BinanceSocketManager(client=self._client, max_queue_size=1000)
        if self.stream_url:
            self._bsm.STREAM_URL = self._bsm.STREAM_TESTNET_URL = self.stream_url
        while self._running:
            await asyncio.sleep(0.2)
        while self._socket_running:
            await asyncio.sleep(0.2)


class BinanceFeed(Feed):
    name = "binance"
    LISTING_SECONDS = 3600.0  # Binance lists and delists symbols

    def __init__(
        self,
        *,
        testnet: bool = False,
        rest_url: str | None = None,
        stream_url: str | None = None,
        warmup_candles: int = DEFAULT_WARMUP_CANDLES,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        websocket: bool = True,
    ):
        super().__init__(warmup_candles=warmup_candles)
        self.testnet, self.stream_url, self.clock = testnet, stream_url, clock
        # weight, Retry-After and bans kept
        self.rest = public_rest(testnet=testnet, rest_url=rest_url, timeout=timeout)
        self.websocket = websocket
        self.messages: queue.SimpleQueue = queue.SimpleQueue()
        self._sockets: _Sockets | None = None
        self._streams: dict[str, str] = {}  # symbol -> socket path
        self._last_open: dict[str, int] = {}  # symbol -> open time of the last candle sent
        self._restart_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._errors: dict[str, str] = {}

    # --- life cycle ---------------------------------------------------------------------

    def start(self, *, resume_after_ms: int | None) -> None:
        if self.websocket:
            self._sockets = _Sockets(testnet=self.testnet, stream_url=self.stream_url)
            self._sockets.start()

    def stop(self) -> None:
        if self._sockets is not None:
            for path in self._streams.values():
                self._sockets.stop_socket(path)
            self._sockets.stop()

    # --- the websocket side: queue only ---------------------------------------------------

    def on_message(self, message: dict) -> None:
        """ThreadedWebsocketManager's callback: runs on its thread, so it only queues."""
        self.messages.put(message)

    def _subscribe(self, symbol: str) -> None:
        if self._sockets is None:
            return
        path = self._sockets.start_kline_socket(
            callback=self.on_message, symbol=symbol.lower(), interval="1m"
        )
        self._streams[symbol] = path

    # --- the engine's side ----------------------------------------------------------------

    def poll(self, symbols: Collection[str]) -> dict[str, CandleFrame]:
        batches: dict[str, list[list]] = {}
        for symbol in symbols:
            if symbol not in self._last_open:
                self._begin(symbol, batches)
        self._drain(batches)
        now_ms = int(self.clock() * 1000)
        for symbol in symbols:
            last = self._last_open.get(symbol)
            if last is not None and now_ms - (last + MINUTE_MS) > QUIET_MS:
                self._backfill(symbol, batches, until_ms=now_ms)  # the stream fell silent
            self._restart_if_due(symbol)
        return {symbol: _frame(rows) for symbol, rows in batches.items() if rows}

    def unavailable(self, symbol: str) -> str | None:
        return self._errors.get(symbol)

    def listing(self) -> tuple[list[str], str]:
        """The spot symbols exchangeInfo says are TRADING now."""
        try:
            info = self.rest.call("get_exchange_info")
        except ExchangeError as error:
            raise FeedError(f"Binance exchangeInfo: {error}") from None
        symbols = [
            entry["symbol"]
            for entry in info.get("symbols", [])
            if entry.get("status") == "TRADING" and entry.get("isSpotTradingAllowed", True)
        ]
        venue = "testnet" if self.testnet else "live"
        return symbols, f"Binance {venue} exchangeInfo, spot symbols TRADING"

    def _begin(self, symbol: str, batches: dict) -> None:
        now_ms = int(self.clock() * 1000)
        start = now_ms - (self.warmup_candles + 1) * MINUTE_MS
        self._last_open[symbol] = start - MINUTE_MS
        self._backfill(symbol, batches, until_ms=now_ms)
        self._subscribe(symbol)

    def _drain(self, batches: dict) -> None:
        while True:
            try:
                message = self.messages.get_nowait()
            except queue.Empty:
                return
            if message.get("e") == "error":
                self._stream_failed(message)
                continue
            kline = message.get("k") or message.get("data", {}).get("k")
            if not kline or not kline.get("x"):  # only closed candles
                continue
            symbol, open_ms = kline["s"], int(kline["t"])
            last = self._last_open.get(symbol)
            if last is None or open_ms <= last:
                continue  # not ours, or already delivered (by a backfill)
            if open_ms > last + MINUTE_MS:  # messages were lost: fill the hole first
                self._backfill(symbol, batches, until_ms=open_ms)
            if open_ms == self._last_open[symbol] + MINUTE_MS:
                row = [open_ms, *(_number(kline.get(k)) for k in STREAM_FIELDS)]
                batches.setdefault(symbol, []).append(row)
                self._last_open[symbol] = open_ms
                self._backoff.pop(symbol, None)

    def _backfill(self, symbol: str, batches: dict, *, until_ms: int) -> None:
        """Closed candles after the last delivered, over REST, up to `until_ms`."""
        now_ms = int(self.clock() * 1000)
        while True:
            after = self._last_open[symbol] + MINUTE_MS
            try:
                rows = self.rest.call(
                    "get_klines", symbol=symbol, interval="1m", startTime=after, limit=PAGE
                )
            except ExchangeError as error:
                self._errors[symbol] = f"Binance klines for {symbol}: {error}"
                log.warning("%s; retried on the next poll", self._errors[symbol])
                return
            self._errors.pop(symbol, None)
            closed = [
                row for row in rows if int(row[6]) < now_ms and int(row[0]) < until_ms
            ]  # close time passed
            for row in closed:
                batches.setdefault(symbol, []).append(
                    [int(row[0]), *(_number(value) for value in row[1:6] + row[7:11])]
                )
                self._last_open[symbol] = int(row[0])
            if len(rows) < PAGE or not closed:
                return

    def _stream_failed(self, message: dict) -> None:
        log.warning("Binance kline stream error: %s %s", message.get("type"), message.get("m"))
        for symbol in self._streams:
            if symbol not in self._restart_at:
                wait = min(self._backoff.get(symbol, BACKOFF_FIRST / 2) * 2, BACKOFF_MOST)
                self._backoff[symbol] = wait
                self._restart_at[symbol] = self.clock() + wait

    def _restart_if_due(self, symbol: str) -> None:
        due = self._restart_at.get(symbol)
        if due is None or self.clock() < due or self._sockets is None:
            return
        del self._restart_at[symbol]
        log.info("restarting the Binance kline stream of %s", symbol)
        self._sockets.stop_socket(self._streams.pop(symbol, ""))
        self._subscribe(symbol)


def _number(value) -> float | None:
    return None if value is None else float(value)


def _frame(rows: list[list]) -> CandleFrame:
    """Rows of open time, OHLCV and the flow fields (None where a message lacked one)."""
    columns = list(zip(*rows, strict=True))
    flow = dict(zip(FLOW_COLUMNS, columns[6:], strict=True))
    return CandleFrame.from_arrays(*columns[:6], **flow)


def make_binance_feed(settings) -> Feed:
    return BinanceFeed(
        testnet=settings.BINANCE_MARKET_DATA == "testnet",
        rest_url=settings.BINANCE_REST_URL,
        stream_url=settings.BINANCE_STREAM_URL,
        timeout=settings.BINANCE_TIMEOUT_SECONDS,
    )
