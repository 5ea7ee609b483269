"""Command handlers, registered with `@handles(kind)` when this package is imported
(`botdesk.engine.process` imports it). Each is idempotent: a command left running by a
dead engine is run again at restart."""

from botdesk.engine.handlers import (
    backtests,
    bots,
    kill_switch,
    manual,
    ml,
    positions,
    research,
    signals,
)

__all__ = [
    "backtests",
    "bots",
    "kill_switch",
    "manual",
    "ml",
    "positions",
    "research",
    "signals",
]
