"""Faults injected on demand: each matches a method and path and fires a number of times,
or at random with a seeded rate, so a broker's handling of each can be proven.

- `timeout`: the request IS carried out (an order is placed), the answer never comes; the
  connection is held, then closed without a byte, so the client times out;
- `drop`: the connection is closed at once, nothing carried out;
- `server_error(503)`: a 5xx, by default without carrying the request out (with
  `execute=True` the order is placed and the answer is still a 5xx: outcome unknown);
- `rate_limit`: 429 with Retry-After (a request inside that window is then banned: 418);
- `ban`: 418 with Retry-After;
- `clock_error`: -1021 (timestamp outside recvWindow); `insufficient_balance`: -2010;
- `error(status, code, msg)`: any other Binance error.
"""

import random
import threading
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Fault:
    kind: str  # timeout | drop | status | error | rate_limit | ban
    method: str | None = None
    path: str | None = None
    status: int = 503
    code: int | None = None
    msg: str | None = None
    execute: bool = False  # carry the request out before failing
    retry_after: int = 1

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and self.path in (None, path)


class FaultPlan:
    def __init__(self):
        self._lock = threading.Lock()
        self._queue: list[list] = []  # [fault, times left]
        self._random: tuple[float, list[Fault], random.Random, Fault] | None = None
        self.fired: list[Fault] = []

    def add(self, fault: Fault, times: int = 1) -> Fault:
        with self._lock:
            self._queue.append([fault, times])
        return fault

    def timeout(self, method="POST", path="/api/v3/order", times=1) -> Fault:
        return self.add(Fault("timeout", method, path, execute=True), times)

    def drop(self, method="POST", path="/api/v3/order", times=1) -> Fault:
        return self.add(Fault("drop", method, path), times)

    def server_error(
        self, status=503, method="POST", path="/api/v3/order", times=1, execute=False
    ) -> Fault:
        return self.add(Fault("status", method, path, status=status, execute=execute), times)

    def rate_limit(self, retry_after=1, method=None, path=None, times=1) -> Fault:
        return self.add(Fault("rate_limit", method, path, retry_after=retry_after), times)

    def ban(self, retry_after=2, method=None, path=None, times=1) -> Fault:
        return self.add(Fault("ban", method, path, retry_after=retry_after), times)

    def clock_error(self, method=None, path=None, times=1) -> Fault:
        message = "Timestamp for this request is outside of the recvWindow."
        return self.add(Fault("error", method, path, status=400, code=-1021, msg=message), times)

    def insufficient_balance(self, method="POST", path="/api/v3/order", times=1) -> Fault:
        message = "Account has insufficient balance for requested action."
        return self.add(Fault("error", method, path, status=400, code=-2010, msg=message), times)

    def error(self, status: int, code: int, msg: str, method=None, path=None, times=1) -> Fault:
        return self.add(Fault("error", method, path, status=status, code=code, msg=msg), times)

    def at_random(
        self, rate: float, kinds: list[Fault], seed: int = 0, method=None, path=None
    ) -> None:
        """Each matching request fails with probability `rate`, with one of `kinds`."""
        scope = Fault("random", method, path)
        with self._lock:
            self._random = (rate, kinds, random.Random(seed), scope)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._random = None

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for entry in self._queue:
                fault, left = entry
                if left > 0 and fault.matches(method, path):
                    entry[1] -= 1
                    self.fired.append(fault)
                    return fault
            if self._random is not None:
                rate, kinds, chance, scope = self._random
                if scope.matches(method, path) and chance.random() < rate:
                    fault = replace(chance.choice(kinds), method=method, path=path)
                    self.fired.append(fault)
                    return fault
        return None
