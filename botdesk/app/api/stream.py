"""GET /api/v1/stream: Server-Sent Events of what the engine and the desk write.

Resumable: each event's id is its number in the change log (db/stream_events), numbered
in commit order; a client that reconnects with `Last-Event-ID: N` is sent every event
after N that it may receive, then the live ones, none twice. Bounded: see app/stream/hub.
"""

from __future__ import annotations

import socket

from flask import Response, current_app, request
from pydantic import Field

from botdesk.app.api import access
from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import Query
from botdesk.app.api.routing import operation
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.stream import frames, hub
from botdesk.app.stream.outbox import Outbox
from botdesk.db import stream_events
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Scope
from botdesk.db.session import Database

CHANNEL_LIST = "^[a-z_]+(,[a-z_]+)*$"
MAX_SEQ = 2**63 - 1
RECONNECT_MS = 3000
DESCRIPTION = """\
A `text/event-stream` (Server-Sent Events) that stays open. Each event is

    id: 1234
    event: fills
    data: {"id": 88, "order_id": 41, ..., "price": "63443.76000000", ...}

Channels: `signals`, `orders` (placed, and each status or filled-quantity change),
`fills`, `positions` (opened, closed, quantity, stop or take-profit changed; not every
mark-to-market), `kill_switch` (engaged or released; data as GET /kill-switch),
`risk_events`, `candles` (each stored candle, with symbol and timeframe), `commands`
(issued, and each status change) with a read key, and `audit` (the audit log) with an
admin key. `channels=fills,orders` picks some; by default every channel the key may read.
The data is the row as its list endpoint shows it, read when the event is sent; a row
deleted since is `{"id": ..., "deleted": true}`.

Resuming: send the last id you received as the `Last-Event-ID` header; you get every
event after it (of your channels) and then the live ones, none twice and none missed.
Without it you get what happens from now on. Events are kept
`BOTDESK_STREAM_RETENTION_HOURS` (24 h): resuming from an older id first sends a `reset`
event (read the lists again, then carry on).

Control events (no id): `dropped` (you fell `BOTDESK_STREAM_QUEUE_EVENTS` events
behind and are disconnected: reconnect with `Last-Event-ID`), `closing` (the desk
worker is stopping: reconnect), `revoked` (the key was revoked, expired or lost the scope;
checked every 30 s at most).
A comment line `: keep-alive` comes every `BOTDESK_STREAM_HEARTBEAT_SECONDS` when quiet.

Limits: each desk worker holds at most `BOTDESK_STREAM_MAX_CLIENTS` streams (503 beyond)
and `BOTDESK_STREAM_MAX_PER_KEY` per key (429 beyond), both with `Retry-After`.
"""


class StreamQuery(Query):
    channels: str | None = Field(
        None,
        pattern=CHANNEL_LIST,
        max_length=200,
        description="Comma-separated channels, e.g. `fills,orders`. Default: every "
        "channel the key may read.",
    )


def _channels(query: StreamQuery, holder: KeyHolder) -> frozenset[str]:
    readable = {name for name, scope in stream_events.CHANNELS.items() if holder.allows(scope)}
    if query.channels is None:
        return frozenset(readable)
    asked = frozenset(query.channels.split(","))
    unknown = sorted(asked - set(stream_events.CHANNELS))
    if unknown:
        raise ApiError(
            400,
            "invalid_parameter",
            f"unknown channel {unknown[0]!r}; channels are " + ", ".join(stream_events.CHANNELS),
        )
    for name in sorted(asked - readable):  # the usual audited 403, naming the scope needed
        access.require(stream_events.CHANNELS[name])
    return asked


def _last_event_id(db: Database) -> tuple[int | None, int]:
    """The Last-Event-ID header as a number (None when absent), and the newest number."""
    text = request.headers.get("Last-Event-ID", "").strip()
    with db.reading() as session:
        waiting = stream_events.unstamped(session=session)
    if waiting:  # "from now on" starts after everything committed before this request
        with db.writing() as session:
            stream_events.stamp(session=session)
    with db.reading() as session:
        newest = stream_events.newest(session=session)
    if not text:
        return None, newest
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_SEQ:
        raise ApiError(400, "invalid_parameter", "Last-Event-ID must be an event id (a number)")
    if int(text) > newest:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Last-Event-ID {text} is ahead of the newest event ({newest}): "
            "it is not from this desk's database",
        )
    return int(text), newest


def allowed_for(channels: frozenset[str], address):
    """Whether a client from `address` may still read `channels` with a key as it stands
    now (`holder`, None when revoked, expired or its owner disabled): the hub asks."""
    needed = {stream_events.CHANNELS[name] for name in channels}

    def allowed(holder: KeyHolder | None) -> bool:
        return (
            holder is not None
            and holder.allows_address(address)
            and all(holder.allows(scope) for scope in needed)
        )

    return allowed


ENDINGS = {
    "dropped": "this client fell {capacity} events behind; reconnect with Last-Event-ID "
    "to carry on",
    "closing": "the desk is stopping; reconnect",
    "revoked": "this API key is no longer valid for these channels",
}


def _events(
    *,
    db: Database,
    subscriber: hub.Subscriber,
    stream_hub: hub.Hub,
    after: int,
    resumed: bool,
    sock: socket.socket,
    chunked: bool,
):
    """The response body: catch-up from the change log, then (written by the worker's
    poller, see app/stream/hub) the live frames, then why the stream ended."""
    try:
        yield from _body(db, subscriber, after, resumed, sock, chunked)
    finally:
        stream_hub.unsubscribe(subscriber)


def _body(db, subscriber, after, resumed, sock, chunked):
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    last = after
    if resumed:
        with db.reading() as session:
            oldest = stream_events.oldest(session=session)
        if oldest is not None and oldest > last + 1:
            yield frames.sse(
                event="reset",
                data={
                    "message": f"events {last + 1} to {oldest - 1} are no longer kept: "
                    "read the lists again, then carry on from here",
                    "oldest": oldest,
                },
            )
            last = oldest - 1
    while True:  # catch up; the hub keeps what is new meanwhile, sent after, deduped
        with db.reading() as session:
            events = stream_events.after(
                session=session, seq=last, channels=subscriber.channels, limit=hub.READ_BATCH
            )
            caught = frames.build(session=session, events=events)
        if caught:
            yield b"".join(frame.data for frame in caught)
        if events:
            last = events[-1].seq
        if len(events) < hub.READ_BATCH:
            break
    # gunicorn has written all of the above when it asks for more: the socket is the
    # poller's until the stream ends
    subscriber.attach(Outbox(sock, chunked=chunked, capacity=subscriber.capacity), after=last)
    ending, last, rest = subscriber.wait()
    if ending not in ENDINGS:  # the client is gone
        return
    try:
        sock.sendall(rest)  # a frame the poller had begun: finished before anything else
    except OSError:
        return
    data = {"message": ENDINGS[ending].format(capacity=subscriber.capacity)}
    if ending != "revoked":
        data["last_event_id"] = last
    yield frames.sse(event=ending, data=data)


@operation(
    "GET",
    "/stream",
    summary="Server-Sent Events: signals, orders, fills, positions, kill switch, risk "
    "events, candles, commands, audit; resumable with Last-Event-ID",
    tag="stream",
    scope=Scope.READ,
    response={"type": "string", "description": "Server-Sent Events, as described above"},
    media_type="text/event-stream",
    query=StreamQuery,
    description=DESCRIPTION,
    errors=(400, 503),
)
def stream(holder: KeyHolder, query: StreamQuery):
    channels = _channels(query, holder)
    db = desk_db()
    settings = desk_settings()
    sock = request.environ.get("gunicorn.socket")
    if sock is None:
        raise ApiError(503, "unavailable", "streams are served by `botdesk web` (gunicorn)")
    after, newest = _last_event_id(db)
    stream_hub = hub.hub_for(db, settings)
    try:
        subscriber = stream_hub.subscribe(
            key_id=holder.key_id,
            channels=channels,
            allowed=allowed_for(channels, request.remote_addr),
        )
    except hub.StreamRefused as refused:
        headers = {"Retry-After": str(hub.RETRY_AFTER_SECONDS)}
        raise ApiError(refused.status, refused.code, refused.message, headers) from None
    # A client that stops reading frees its thread instead of holding it; and a socket in
    # timeout mode is non-blocking underneath, which the poller's writes rely on (outbox).
    sock.settimeout(stream_hub.stall_seconds)
    body = _events(
        db=db,
        subscriber=subscriber,
        stream_hub=stream_hub,
        after=newest if after is None else after,
        resumed=after is not None,
        sock=sock,
        # gunicorn chunks a response of no stated length to an HTTP/1.1 client
        chunked=request.environ.get("SERVER_PROTOCOL", "HTTP/1.0") != "HTTP/1.0",
    )
    current_app.logger.debug("stream opened for %s: %s", holder.actor, sorted(channels))
    return Response(
        body,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
