"""The fake's kline websocket (`/ws/<symbol>@kline_1m`, Binance's message format), served
with the websockets library on 127.0.0.1 in its own thread."""

import asyncio
import json
import threading

from websockets.asyncio.server import serve

from tests.fake_binance.models import Kline, text
from tests.fake_binance.prices import flow_text

# Binance's kline message keys of the extra fields, sent when the source has them
STREAM_FLOW = {
    "q": "quote_volume",
    "n": "trades",
    "V": "taker_buy_base_volume",
    "Q": "taker_buy_quote_volume",
}


class KlineStream:
    def __init__(self):
        self._loop = asyncio.new_event_loop()
        self._subscribers: dict[str, set] = {}
        self._ready = threading.Event()
        self._server = None
        self.port = 0
        self.connections = 0  # how many times a client connected (reconnects count)
        self._thread = threading.Thread(target=self._run, name="fake-binance-ws", daemon=True)

    def start(self) -> "KlineStream":
        self._thread.start()
        self._ready.wait(5)
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._open())
        self._ready.set()
        self._loop.run_forever()

    async def _open(self) -> None:
        self._server = await serve(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, connection) -> None:
        stream = connection.request.path.rsplit("/", 1)[-1]  # btcusdt@kline_1m
        symbol = stream.split("@", 1)[0].upper()
        self.connections += 1
        self._subscribers.setdefault(symbol, set()).add(connection)
        try:
            await connection.wait_closed()
        finally:
            self._subscribers[symbol].discard(connection)

    def publish(self, symbol: str, kline: Kline, *, closed: bool = True) -> None:
        message = json.dumps(
            {
                "e": "kline",
                "E": kline.open_time + 60_000,
                "s": symbol,
                "k": {
                    "t": kline.open_time,
                    "T": kline.open_time + 59_999,
                    "s": symbol,
                    "i": "1m",
                    "o": text(kline.open),
                    "h": text(kline.high),
                    "l": text(kline.low),
                    "c": text(kline.close),
                    "v": text(kline.volume),
                    **{
                        key: flow_text(getattr(kline, name))
                        for key, name in STREAM_FLOW.items()
                        if getattr(kline, name) is not None
                    },
                    "x": closed,
                },
            }
        )
        self._call(self._send(symbol, message))

    async def _send(self, symbol: str, message: str) -> None:
        for connection in list(self._subscribers.get(symbol, ())):
            await connection.send(message)

    def subscribers(self, symbol: str) -> int:
        return len(self._subscribers.get(symbol, ()))

    def drop_all(self) -> None:
        """Close every client connection, as a network hiccup would."""
        self._call(self._close_all())

    async def _close_all(self) -> None:
        for connections in self._subscribers.values():
            for connection in list(connections):
                await connection.close()

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    def stop(self) -> None:
        if self._server is not None:
            self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _close(self) -> None:
        self._server.close()  # closes the client connections too
        await self._server.wait_closed()
