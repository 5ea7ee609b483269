"""What protects an open position, as the Positions page shows it: the stop-loss and
take-profit the exchange holds (or is about to), the engine's own watch, or nothing."""

from botdesk.app.components import format_money
from botdesk.db.models import Position, Protection, ProtectionStatus

ENGINE = "engine"  # the engine watches the price and sells at the level
NONE = "-"
STATUS_WORDS = {
    ProtectionStatus.NEW: "to place",
    ProtectionStatus.UNKNOWN: "in doubt",
    ProtectionStatus.OPEN: "held",
}


def protection_text(position: Position, held: Protection | None) -> str:
    """`stop 58,000.00 · TP 65,000.00 · held` for a protection on the exchange (its status:
    held, to place, in doubt; `cancelling` once a cancel is asked for); `engine` for a
    stop, take-profit or trailing stop the engine watches; `-` for none."""
    if held is not None:
        parts = []
        if held.stop_price is not None:
            parts.append(f"stop {format_money(held.stop_price, '')}")
        if held.take_profit is not None:
            parts.append(f"TP {format_money(held.take_profit, '')}")
        status = STATUS_WORDS.get(held.status, held.status)
        parts.append("cancelling" if held.cancel_requested else status)
        return " · ".join(parts)
    watched = (
        position.stop_price,
        position.take_profit,
        position.trailing_percent,
        position.trailing_atr,
    )
    return ENGINE if any(level is not None for level in watched) else NONE
