"""The dead man's switch: an engine that cannot write its heartbeat places no order.

The engine process arms it with its heartbeat (`botdesk.engine.process`). While the last
heartbeat this process managed to write is older than `BOTDESK_DEADMAN_SECONDS`, every
order the order path is asked to send is refused (rule "dead_mans_switch"), exits
included: an engine that cannot prove it is alive to the desk must not trade blind. It
lifts by itself with the next heartbeat written. Unarmed (a backtest, tests driving the
engine in-process) it never refuses.
"""

import threading

_lock = threading.Lock()
_armed: tuple[object, float] | None = None  # (heartbeat, seconds)


def arm(heartbeat, seconds: float) -> None:
    """`heartbeat` has `seconds_since_success()` (botdesk.engine.heartbeat.Heartbeat)."""
    global _armed
    with _lock:
        _armed = (heartbeat, float(seconds))


def disarm() -> None:
    global _armed
    with _lock:
        _armed = None


def blocked_reason() -> str | None:
    """Why no order may be sent now, or None."""
    with _lock:
        armed = _armed
    if armed is None:
        return None
    heartbeat, seconds = armed
    silent = heartbeat.seconds_since_success()
    if silent <= seconds:
        return None
    return (
        f"dead man's switch: the engine has not written its heartbeat for {silent:.1f} s "
        f"(limit {seconds:g} s); no order until it can"
    )
