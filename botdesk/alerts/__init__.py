"""Alerts that reach people while nobody watches the desk: the sender that delivers the
notification outbox through Apprise and to signal webhooks, the watchdog process that
announces a dead engine, the daily summary and the aggregation of risk refusals."""
