"""The Logs page on a real desk: filters narrow the lines, the export link carries them to
/export/log_entry.csv, which gives exactly those lines; admins only."""

import csv
import io

import pytest

from botdesk.db import log_entries
from botdesk.db.types import utcnow
from tests.desk import call_registered, dependencies, first_output

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("logs-admin", "admin")


@pytest.fixture(scope="module")
def seeded(desk):
    rows = [
        ("engine", "ERROR", 41, "bot 41: strategy raised ZeroDivisionError"),
        ("web", "WARNING", None, "slow request /positions"),
        ("watchdog", "WARNING", None, "delivery 3-c1 try 1 failed (HTTP 503)"),
    ]
    with desk.db.writing() as session:
        log_entries.write(
            session=session,
            rows=[
                {
                    "at": utcnow(),
                    "process": process,
                    "level": level,
                    "logger": "botdesk.test",
                    "bot_id": bot_id,
                    "host": "h",
                    "message": message,
                }
                for process, level, bot_id, message in rows
            ],
        )


def show(desk, client, **filters):
    table = next(
        dep
        for dep in dependencies(client, desk.base)
        if first_output(dep["output"]) == "logs-rows.children"
    )
    values = {f"logs-{key}.value": value for key, value in filters.items()}
    response = call_registered(client, desk.base, table, values, default="any")
    assert response.status_code == 200, response.text
    return response.json()["response"]


def test_filters_narrow_the_lines_and_the_export_gives_the_same(desk, admin, seeded):
    everything = show(desk, admin, bot="", text="")
    for message in ("ZeroDivisionError", "slow request", "delivery 3-c1"):
        assert message in str(everything["logs-rows"])
    engine = show(desk, admin, process="engine", bot="41", text="")
    assert "ZeroDivisionError" in str(engine["logs-rows"])
    assert "slow request" not in str(engine["logs-rows"])
    href = engine["logs-export"]["href"]
    assert href == "/export/log_entry.csv?process=engine&bot=41"
    exported = admin.get(desk.base + href, timeout=30)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["process"], r["bot_id"]) for r in rows] == [("engine", "41")]
    bad = show(desk, admin, bot="forty", text="")
    assert "bot must be a bot's id" in str(bad["logs-rows"])


def test_a_trader_sees_no_logs(desk, seeded):
    trader = desk.signed_in("logs-trader", "trader")
    exported = trader.get(f"{desk.base}/export/log_entry.csv", timeout=30)
    assert exported.status_code == 403 and "ZeroDivisionError" not in exported.text
