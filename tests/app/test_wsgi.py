"""The gunicorn entry point, imported as a worker imports it: the app's own objects frozen
out of the garbage collector's full collections, the P&L totals warmed beside serving."""

import json
import subprocess
import sys

from tests.conftest import make_env

WORKER = """
import gc, json, threading
import botdesk.app.wsgi as wsgi
from botdesk.db import pnl
for thread in threading.enumerate():
    if thread.name == "pnl-warm-up":
        thread.join(60)
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "routes": sorted(str(rule) for rule in wsgi.server.url_map.iter_rules()),
    "pnl_totals_kept": len(pnl._totals),
}))
"""


def test_a_worker_freezes_its_startup_objects_and_warms_the_pnl_totals(sqlite_url, tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", WORKER],
        env=make_env(sqlite_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    worker = json.loads(run.stdout.strip().splitlines()[-1])
    assert worker["frozen"] > 50_000  # Dash, plotly and the pages, not a handful
    assert "/export/<name>.csv" in worker["routes"]  # the desk itself
    assert worker["pnl_totals_kept"] == 1  # the fills of its database, summed at start
    assert "could not sum the fills" not in run.stderr
