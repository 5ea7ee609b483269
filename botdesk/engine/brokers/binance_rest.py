"""Calls to Binance's spot REST API through python-binance, with the exchange's rules kept:

- request weight: `X-MBX-USED-WEIGHT-1M` is read after every answer; past
  `weight_budget` of the minute's limit, nothing more is sent until the minute ends;
- 429: nothing is sent before its `Retry-After` has passed (`RateLimited`);
- 418: the IP is banned; every call is refused until `Retry-After` (`Banned`), and the
  broker halts trading;
- -1021 (timestamp outside recvWindow): the offset to the server's clock is measured
  again and the call retried once; Binance refused it, so nothing was done twice;
- a timeout, a dropped connection or a 5xx: `OutcomeUnknown`: the request may or may not
  have been carried out, so an order must be looked up before it is sent again;
- any other refusal: `ExchangeRefused(code, message)` (e.g. -2010 insufficient balance).

One `RestGate` per Binance host is shared by every account on it, as Binance counts
weight and bans per IP. Calls on one client are serialized (python-binance keeps the
last response on the client).
"""

import logging
import threading
import time
from collections.abc import Callable

import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException, BinanceRequestException

log = logging.getLogger(__name__)

WEIGHT_LIMIT_1M = 6000


class ExchangeError(RuntimeError):
    """Binance could not be used for this call; the message says why."""


class ExchangeRefused(ExchangeError):
    """Binance answered and refused (a definite answer: nothing was done)."""

    def __init__(self, code: int | None, message: str, status: int | None = None):
        self.code, self.status = code, status
        super().__init__(f"Binance refused ({code}): {message}")


class RateLimited(ExchangeError):
    """Not sent: Binance asked to wait (429, or this minute's weight is used up)."""

    def __init__(self, retry_at: float, message: str):
        self.retry_at = retry_at
        super().__init__(message)


class Banned(RateLimited):
    """Not sent: Binance banned this IP (418) until `retry_at`."""


class OutcomeUnknown(ExchangeError):
    """The request left; no answer came (timeout, dropped connection, 5xx)."""


class RestGate:
    """Rate-limit state of one Binance host: weight used, Retry-After, ban."""

    def __init__(
        self,
        *,
        weight_limit: int = WEIGHT_LIMIT_1M,
        weight_budget: float = 0.9,
        clock: Callable[[], float] = time.time,
    ):
        self.weight_limit = weight_limit
        self.weight_budget = weight_budget
        self.clock = clock
        self.used_weight = 0
        self.retry_at = 0.0
        self.banned_until = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise Banned or RateLimited while nothing may be sent."""
        now = self.clock()
        with self._lock:
            if now < self.banned_until:
                raise Banned(self.banned_until, f"Binance banned this IP for {self._left(now)}")
            if now < self.retry_at:
                raise RateLimited(self.retry_at, f"Binance asked to wait {self._left(now)}")

    def _left(self, now: float) -> str:
        return f"{max(self.banned_until, self.retry_at) - now:.1f} s more"

    def observe(self, headers) -> None:
        """Weight used this minute (answer header); past the budget, wait for the next one."""
        used = headers.get("X-MBX-USED-WEIGHT-1M") or headers.get("x-mbx-used-weight-1m")
        if used is None:
            return
        now = self.clock()
        with self._lock:
            self.used_weight = int(used)
            if self.used_weight >= self.weight_limit * self.weight_budget:
                self.retry_at = max(self.retry_at, now - now % 60 + 60)
                log.warning(
                    "Binance request weight %d of %d used this minute: pausing until it ends",
                    self.used_weight,
                    self.weight_limit,
                )

    def refused(self, status: int, headers) -> RateLimited:
        """A 429 or 418 answer: remember until when, and say so."""
        try:
            wait = float(headers.get("Retry-After") or 60)
        except ValueError:
            wait = 60.0
        until = self.clock() + wait
        with self._lock:
            if status == 418:
                self.banned_until = max(self.banned_until, until)
                return Banned(until, f"Binance banned this IP (418) for {wait:g} s")
            self.retry_at = max(self.retry_at, until)
            return RateLimited(until, f"Binance rate limit (429): retry after {wait:g} s")


class BinanceRest:
    """One account's python-binance Client behind the host's gate."""

    def __init__(
        self, client: Client, gate: RestGate, on_ban: Callable[[Banned], None] | None = None
    ):
        self.client = client
        self.gate = gate
        self.on_ban = on_ban  # told of every 418, whichever call met it
        self._lock = threading.Lock()

    def call(self, method: str, **params):
        """`client.<method>(**params)`, with the rules in the module docstring."""
        with self._lock:
            try:
                return self._send(method, params)
            except ExchangeRefused as refusal:
                if refusal.code != -1021:
                    raise
                offset = self.sync_clock()
                log.warning("Binance -1021: clock offset now %d ms; retrying once", offset)
                return self._send(method, params)

    def sync_clock(self) -> int:
        """Measure the server's clock against ours; every signed call then uses it."""
        before = time.time()
        server_ms = self._send("get_server_time", {})["serverTime"]
        after = time.time()
        offset = int(server_ms - (before + after) / 2 * 1000)
        self.client.timestamp_offset = offset
        return offset

    def _send(self, method: str, params: dict):
        self.gate.check()
        try:
            result = getattr(self.client, method)(**params)
        except BinanceAPIException as error:
            headers = error.response.headers if error.response is not None else {}
            if error.status_code in (418, 429):
                refusal = self.gate.refused(error.status_code, headers)
                if isinstance(refusal, Banned) and self.on_ban is not None:
                    self.on_ban(refusal)
                raise refusal from None
            self.gate.observe(headers)
            if error.status_code >= 500:
                raise OutcomeUnknown(
                    f"Binance answered {error.status_code} ({error.message}): outcome unknown"
                ) from None
            raise ExchangeRefused(error.code, error.message, error.status_code) from None
        except (requests.Timeout, requests.ConnectionError) as error:
            raise OutcomeUnknown(f"no answer from Binance ({type(error).__name__})") from None
        except BinanceRequestException as error:  # an answer that is not JSON
            raise OutcomeUnknown(f"unreadable answer from Binance: {error.message}") from None
        response = self.client.response
        if response is not None:
            self.gate.observe(response.headers)
        return result
