"""A Server-Sent Events client for tests and benchmarks: http.client on a raw socket, so
the test controls exactly when bytes are read."""

import http.client
import json
import time
from dataclasses import dataclass


@dataclass
class Event:
    id: int | None
    event: str
    data: dict


class StreamClient:
    def __init__(
        self,
        base: str,
        key: str,
        *,
        channels: str | None = None,
        last_event_id: int | str | None = None,
        timeout: float = 10.0,
    ):
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        headers = {"X-API-Key": key, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        path = "/api/v1/stream" + (f"?channels={channels}" if channels else "")
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())

    def json(self) -> dict:
        return json.loads(self.response.read())

    def next_event(self, timeout: float = 10.0) -> Event:
        """The next event (comments and the retry line skipped); TimeoutError past timeout."""
        deadline = time.monotonic() + timeout
        fields: dict[str, str] = {}
        while time.monotonic() < deadline:
            line = self.response.readline()
            if not line:
                raise ConnectionError("the stream ended")
            text = line.decode().rstrip("\n")
            if text == "":
                if "event" in fields:
                    seq = fields.get("id")
                    return Event(
                        int(seq) if seq else None, fields["event"], json.loads(fields["data"])
                    )
                fields = {}
                continue
            if text.startswith(":"):
                continue
            name, _, value = text.partition(": ")
            fields[name] = value
        raise TimeoutError("no event in time")

    def events_until(self, done, timeout: float = 15.0) -> list[Event]:
        """Events until `done(events)` is true."""
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while not done(events):
            events.append(self.next_event(max(0.1, deadline - time.monotonic())))
        return events

    def close(self) -> None:
        self.connection.close()
