"""Reconciliation: at start and every BOTDESK_RECONCILE_SECONDS, each broker brings the
stored open orders in line with its venue (`Broker.synchronize`); the fills it reports are
booked through the ledger. Sending what brokers recorded is `dispatch_all`."""

import logging

log = logging.getLogger(__name__)


def reconcile_all(runtime) -> int:
    """Ask every broker in use to reconcile; returns how many fills were booked."""
    booked = 0
    for broker in runtime.brokers.all():
        booked += broker.synchronize(runtime.db)
    if booked:
        log.info("reconciliation booked %d fill(s) the engine had not seen", booked)
    return booked


def dispatch_all(runtime) -> None:
    """Let every broker send what its `place` and `cancel` recorded (outside transactions)."""
    for broker in runtime.brokers.all():
        broker.dispatch()
