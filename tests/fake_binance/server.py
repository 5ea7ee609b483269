"""A local HTTP server speaking Binance's spot REST protocol, for tests without the internet.

It checks what Binance checks before an order is accepted: the API key, the HMAC-SHA256
signature over the exact query string and body, the timestamp against recvWindow (-1021),
request weight per minute (429 with Retry-After, then 418 for whoever ignores it), the
symbol filters (-1013), balances (-2010) and duplicate client order ids. Faults are
injected on demand (see faults.py). The real python-binance `Client` talks to it:
`fake.client()` returns one pointed at this server (its `API_URL`, or `API_TESTNET_URL`
with `testnet=True`, set to `<base_url>/api`).
"""

import hashlib
import hmac
import json
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tests.fake_binance import routes
from tests.fake_binance.exchange import Exchange
from tests.fake_binance.faults import Fault, FaultPlan
from tests.fake_binance.models import BinanceError, Kline, SymbolRules
from tests.fake_binance.routes import Call
from tests.fake_binance.stream import KlineStream

log = logging.getLogger(__name__)

MAX_RECV_WINDOW = 60_000


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it, for tests to assert on."""

    method: str
    path: str
    params: dict
    api_key: str | None
    status: int | None  # None: no answer was sent (timeout, drop)
    at: float


class FakeBinance:
    """Start with `with FakeBinance(...) as fake:`; `fake.base_url`, `fake.client()`."""

    def __init__(
        self,
        *,
        klines: dict[str, list[Kline]] | None = None,
        start_index: int = 0,
        rules: dict[str, SymbolRules] | None = None,
        balances: dict[str, str] | None = None,
        fee_rate: Decimal = Decimal("0.001"),
        weight_limit: int = 6000,
        ban_seconds: int = 2,
        hold_seconds: float = 30.0,
        stream: bool = False,
    ):
        self.exchange = Exchange(rules, fee_rate)
        for symbol, candles in (klines or {}).items():
            self.exchange.add_path(symbol, candles, start_index)
        self.api_key, self.api_secret = secrets.token_hex(32), secrets.token_hex(32)
        self.exchange.add_account(self.api_key, self.api_secret, balances or {"USDT": "10000"})
        self.faults = FaultPlan()
        self.requests: list[Logged] = []
        self.clock_offset_ms = 0  # the server's clock minus this machine's
        self.weight_limit, self.ban_seconds, self.hold_seconds = (
            weight_limit,
            ban_seconds,
            hold_seconds,
        )
        self._weight: dict[int, int] = {}
        self._backoff_until = 0.0
        self._banned_until = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._http: ThreadingHTTPServer | None = None
        self.stream = KlineStream() if stream else None  # the kline websocket, on request

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> "FakeBinance":
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name="fake-binance", daemon=True).start()
        if self.stream is not None:
            self.stream.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self.stream is not None:
            self.stream.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def __enter__(self) -> "FakeBinance":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def client(self, *, testnet: bool = True, timeout: float = 5.0, api_key=None, api_secret=None):
        """A real python-binance Client talking to this server."""
        from binance.client import Client

        client = Client(
            api_key or self.api_key,
            api_secret or self.api_secret,
            testnet=testnet,
            ping=False,
            requests_params={"timeout": timeout},
        )
        if testnet:
            client.API_TESTNET_URL = f"{self.base_url}/api"
        else:
            client.API_URL = f"{self.base_url}/api"
        return client

    # --- scenario controls ----------------------------------------------------------------

    def now(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def add_account(self, balances: dict[str, str]) -> tuple[str, str]:
        key, secret = secrets.token_hex(32), secrets.token_hex(32)
        self.exchange.add_account(key, secret, balances)
        return key, secret

    def set_price(self, symbol: str, price: Decimal | str) -> None:
        self.exchange.set_price(symbol, Decimal(price), self.now())

    def advance(self, steps: int = 1, symbol: str | None = None, *, publish: bool = True) -> None:
        """Close `steps` more candles; each is published on the kline websocket unless
        `publish` is False (messages lost, as in a disconnection)."""
        for _ in range(steps):
            self.exchange.advance(self.now(), 1, symbol)
            if self.stream is None or not publish:
                continue
            for name, path in self.exchange.paths.items():
                if symbol in (None, name):
                    self.stream.publish(name, path.klines[path.index])

    def market_now(self, symbol: str) -> float:
        """The market's present in seconds: just after the close of the last closed candle."""
        path = self.exchange.paths[symbol]
        return (path.klines[path.index].open_time + 60_000) / 1000 + 0.001

    def orders_with_client_id(self, client_order_id: str) -> list:
        with self.exchange.lock:
            return [o for o in self.exchange.orders if o.client_order_id == client_order_id]

    def balances(self, api_key: str | None = None) -> dict[str, tuple[Decimal, Decimal]]:
        account = self.exchange.accounts[api_key or self.api_key]
        with self.exchange.lock:
            return {asset: (free, locked) for asset, (free, locked) in account.balances.items()}

    # --- one request --------------------------------------------------------------------

    def handle(self, handler: "_Handler") -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        method, path = handler.command, parts.path
        api_key = handler.headers.get("X-MBX-APIKEY")

        def logged(status: int | None) -> None:  # before the answer leaves: a client that
            with self._lock:  # has its answer finds its request in the log
                self.requests.append(Logged(method, path, params, api_key, status, time.time()))

        handler.on_answer = logged
        self._answer(handler, method, path, parts.query, body, params, api_key)

    def _answer(self, handler, method, path, query, body, params, api_key) -> int | None:
        route = routes.ROUTES.get((method, path))
        fault = self.faults.take(method, path)
        refusal = self._rate_limit(route, params, fault)
        if refusal is not None:
            return handler.send_json(*refusal)
        if fault is not None and not fault.execute:
            return self._fail(handler, fault)
        if route is None:
            return handler.send_json(404, {"code": -1, "msg": f"unknown endpoint {path}"})
        try:
            account = self._authenticate(api_key, query, body, params) if route.signed else None
            result = route.handle(Call(params, account, self.now(), self.exchange))
        except BinanceError as error:
            return handler.send_json(error.status, {"code": error.code, "msg": error.msg})
        if fault is not None:
            return self._fail(handler, fault)
        return handler.send_json(200, result, {"X-MBX-USED-WEIGHT-1M": str(self._used())})

    def _fail(self, handler: "_Handler", fault: Fault) -> int | None:
        if fault.kind == "timeout":
            self._stopping.wait(self.hold_seconds)
            return handler.drop()
        if fault.kind == "drop":
            return handler.drop()
        if fault.kind == "status":
            return handler.send_json(fault.status, {"code": -1001, "msg": "Internal error."})
        return handler.send_json(fault.status, {"code": fault.code, "msg": fault.msg})

    def _used(self) -> int:
        with self._lock:
            return self._weight.get(int(time.time() // 60), 0)

    def _rate_limit(self, route, params, fault: Fault | None) -> tuple | None:
        """Weight per minute; 429 with Retry-After; 418 for a client that did not wait."""
        now = time.time()
        with self._lock:
            if now < self._banned_until or (fault is not None and fault.kind == "ban"):
                if fault is not None and fault.kind == "ban":
                    self._banned_until = now + fault.retry_after
                return self._ban_answer(now)
            if now < self._backoff_until:
                self._banned_until = now + self.ban_seconds
                return self._ban_answer(now)
            minute = int(now // 60)
            weight = routes.weight_of(route, params)
            self._weight[minute] = self._weight.get(minute, 0) + weight
            over = self._weight[minute] > self.weight_limit
            if over or (fault is not None and fault.kind == "rate_limit"):
                retry = fault.retry_after if fault is not None else int(60 - now % 60) + 1
                self._backoff_until = now + retry
                message = (
                    f"Too much request weight used; current limit is {self.weight_limit} request "
                    "weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                    "polling the API."
                )
                return 429, {"code": -1003, "msg": message}, {"Retry-After": str(retry)}
        return None

    def _ban_answer(self, now: float) -> tuple:
        until = int(self._banned_until * 1000)
        message = f"Way too much request weight used; IP banned until {until}."
        retry = max(1, int(self._banned_until - now + 0.999))
        return 418, {"code": -1003, "msg": message}, {"Retry-After": str(retry)}

    def _authenticate(self, api_key, query: str, body: str, params: dict):
        if not api_key:
            raise BinanceError(-2014, "API-key format invalid.", status=401)
        account = self.exchange.accounts.get(api_key)
        if account is None:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
        signature = params.get("signature")
        if not signature or not hmac.compare_digest(
            signature.lower(),
            _sign(account.api_secret, _without_signature(query) + _without_signature(body)),
        ):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        try:
            stamp = int(params.get("timestamp", ""))
            window = int(params.get("recvWindow") or 5000)
        except ValueError:
            raise BinanceError(
                -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
            ) from None
        if window > MAX_RECV_WINDOW:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        server_time = self.now()
        if stamp > server_time + 1000:
            raise BinanceError(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if server_time - stamp > window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
        return account


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _without_signature(raw: str) -> str:
    """The exact text that was signed: the parameters as sent, minus `signature=...`."""
    kept = [part for part in raw.split("&") if part and not part.startswith("signature=")]
    return "&".join(kept)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeBinance
    on_answer = staticmethod(lambda status: None)

    def do_GET(self):
        self.server_fake.handle(self)

    do_POST = do_DELETE = do_PUT = do_GET

    def send_json(self, status: int, payload, headers: dict | None = None) -> int:
        data = json.dumps(payload).encode()
        self.on_answer(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return status

    def drop(self) -> None:
        """Close the connection without a byte of answer."""
        self.on_answer(None)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("the client had already closed the connection")

    def log_message(self, format: str, *args) -> None:
        log.debug("fake binance: " + format, *args)
