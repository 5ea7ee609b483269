"""WSGI entry point for gunicorn: `gunicorn botdesk.app.wsgi:server`."""

import gc
import logging
import threading

from botdesk.app.factory import create_app
from botdesk.db import pnl
from botdesk.logs import configure_logging

configure_logging("web")
app = create_app()
server = app.server
log = logging.getLogger(__name__)
# The worker's own objects (Dash, plotly, pandas, the pages: ~180k) live as long as it does:
# frozen out of the collector's view, a full collection no longer walks them each time it
# runs (~100 ms, the slowest calls of the pages that build many components).
gc.collect()
gc.freeze()


def _warm_pnl_totals() -> None:
    """In each worker, beside serving: the P&L report's first call would otherwise sum the
    whole fill table while its operator waits."""
    try:
        with server.config["BOTDESK_DB"].reading() as session:
            pnl.warm(session=session)
    except Exception:  # the report sums on its first call instead; the desk serves on
        log.exception("could not sum the fills ahead of the first P&L report")


threading.Thread(target=_warm_pnl_totals, name="pnl-warm-up", daemon=True).start()
