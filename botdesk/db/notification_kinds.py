"""The event kinds botdesk announces and their severities: the words channels subscribe to
(`botdesk notify add NAME URL --events kill_switch.engaged,engine.stale`)."""

SEVERITIES = ("info", "warning", "critical")

KINDS: dict[str, str] = {
    "order.filled": "an order filled (paper or exchange)",
    "order.rejected": "an order rejected by the broker or the exchange",
    "order.expired": "an order expired before it was sent or filled",
    "risk.refused": "risk refusals, aggregated per bot and rule over a few minutes",
    "risk.breach": "a daily-loss or drawdown limit breached (the bot pauses)",
    "risk.circuit_breaker": "the circuit breaker halted a bot",
    "kill_switch.engaged": "the kill switch engaged: who, why, what was cancelled/flattened",
    "kill_switch.released": "the kill switch released: who and why",
    "bot.error": "a bot's strategy failed; the bot stopped with the error",
    "reconcile.difference": "the exchange and the ledger disagree",
    "model.degraded": "a promoted ML model's live hit rate fell below its validation figure",
    "engine.stale": "the engine's heartbeat stopped (announced by the watchdog)",
    "engine.recovered": "the engine beats again after a stale heartbeat",
    "summary.daily": "the daily summary at 00:00 UTC: P&L, positions, exposure",
    "security.lockout": "an account locked after repeated wrong sign-ins",
    "security.new_address": "a sign-in from an address the user never signed in from",
    "security.role_changed": "a user's role changed",
    "security.api_key_created": "an API key created",
    "backup.failed": "a scheduled database backup failed",
    "test": "a test message (`botdesk notify test`, the Test button)",
}

# Signal webhooks (subscribers' scripts) get these, never the channels' kinds.
SIGNAL_KINDS = ("signal.created", "signal.executed", "signal.rejected")


def at_least(severity: str, least: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(least)
