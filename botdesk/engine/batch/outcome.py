"""What a candle batch did, gathered in one place: the fills it booked, the orders that
failed (rejected by the broker, expired), the risk events it wrote (refusals, breaches,
the circuit breaker) and the bots that went to error. Whatever must tell someone (the
notifications outbox) takes it from here, in the batch's own transaction or right after.
"""

from dataclasses import dataclass, field

from sqlalchemy import event
from sqlmodel import Session

from botdesk.db.models import Fill, Order, OrderStatus, RiskEvent

FAILED = (OrderStatus.REJECTED, OrderStatus.EXPIRED)


@dataclass
class CandleOutcome:
    candle_open_ms: int | None = None
    processed: list[int] = field(default_factory=list)  # bots whose cursor moved here
    fills: list[Fill] = field(default_factory=list)
    failed_orders: list[Order] = field(default_factory=list)
    risk_events: list[RiskEvent] = field(default_factory=list)
    bot_errors: list[tuple[int, str]] = field(default_factory=list)  # (bot id, message)
    fell_back: bool = False  # the batch failed and each bot ran on its own

    @property
    def refusals(self) -> list[RiskEvent]:
        return [row for row in self.risk_events if row.kind == "refused"]

    @property
    def breaches(self) -> list[RiskEvent]:
        return [row for row in self.risk_events if row.kind != "refused"]

    def merge(self, other: "CandleOutcome") -> None:
        self.processed += other.processed
        self.fills += other.fills
        self.failed_orders += other.failed_orders
        self.risk_events += other.risk_events
        self.bot_errors += other.bot_errors


def watch(session: Session, outcome: CandleOutcome) -> None:
    """Gather into `outcome` the rows `session` writes (every flush, the last one at the
    commit). A rolled-back transaction's rows must be dropped by the caller."""
    seen: set[int] = set()

    def gather(flushed: Session, _context) -> None:
        for row in flushed.new:
            if isinstance(row, Fill):
                outcome.fills.append(row)
            elif isinstance(row, RiskEvent):
                outcome.risk_events.append(row)
        for row in list(flushed.new) + list(flushed.dirty):
            if isinstance(row, Order) and row.status in FAILED and id(row) not in seen:
                seen.add(id(row))
                outcome.failed_orders.append(row)

    event.listen(session, "after_flush", gather)
