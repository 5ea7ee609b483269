"""Reconciliation: at start and every few seconds, each broker brings the stored open
orders in line with its venue; the fills it reports are booked through the ledger."""

import logging

from botdesk.db.models import Order
from botdesk.engine.ledger import record_fill

log = logging.getLogger(__name__)


def reconcile_all(runtime) -> int:
    """Ask every broker in use to reconcile; returns how many fills were booked."""
    booked = 0
    for broker in runtime.brokers.all():
        with runtime.db.writing() as session:
            for fill in broker.reconcile(session):
                record_fill(session=session, order=session.get(Order, fill.order_id), fill=fill)
                booked += 1
    if booked:
        log.info("reconciliation booked %d fill(s) the engine had not seen", booked)
    return booked
