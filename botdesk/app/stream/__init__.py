"""Server-Sent Events for /api/v1/stream: one poller per desk worker reads the change log
(db/stream_events) and fans each event out to bounded per-client queues."""
