"""Server-Sent Events for /api/v1/stream: one poller per desk worker reads the change log
(db/stream_events) and writes each event to every client's socket (hub, outbox)."""
