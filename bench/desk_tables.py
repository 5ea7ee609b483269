"""Server time of the desk's grid blocks and CSV export throughput over a million signals.

    .venv/bin/python bench/desk_tables.py [--url sqlite:///var/bench-tables.db] [--rows 1000000]

Seeds the signals once (a second run reuses them), then times, in this process, what the
grid callback and /export/signal.csv do per request: one block of 100 rows (newest, deep,
sorted, filtered by bot name and side, by a day), the grid's change marker, and a full
export. Prints median and worst of 7 runs per case, and rows per second for the export.
"""

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import func, insert, select

from botdesk.app import csv_stream, tables
from botdesk.app.grid import DeskGrid, GridColumn
from botdesk.db.migrate import upgrade
from botdesk.db.models import Bot, Signal
from botdesk.db.session import Database

BOTS = 5
CASES = {
    "newest block": {"start": 0, "end": 100},
    "block at row 10,000": {"start": 10_000, "end": 10_100},
    "sorted by time, oldest first": {
        "start": 0,
        "end": 100,
        "sort_model": [{"colId": "created_at", "sort": "asc"}],
    },
    "bot by name and side": {
        "start": 0,
        "end": 100,
        "filter_model": {
            "bot_id": {"filterType": "text", "type": "equals", "filter": "bench-3"},
            "side": {"filterType": "text", "type": "equals", "filter": "buy"},
        },
    },
    "one UTC day": {
        "start": 0,
        "end": 100,
        "filter_model": {
            "created_at": {
                "filterType": "date",
                "type": "inRange",
                "dateFrom": "2024-03-01 00:00:00",
                "dateTo": "2024-03-01 00:00:00",
            }
        },
    },
}


def seed(db: Database, rows: int) -> None:
    with db.reading() as session:
        have = session.exec(select(func.count()).select_from(Signal)).one()[0]
    if have >= rows:
        return
    with db.writing() as session:
        for number in range(BOTS):
            session.add(Bot(name=f"bench-{number}", strategy="ema_cross", symbol="BTCUSDT"))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    batch = []
    with db.writing() as session:
        for number in range(have, rows):
            batch.append(
                {
                    "bot_id": 1 + number % BOTS,
                    "dedupe_key": f"c:{number}",
                    "source": "strategy",
                    "symbol": "BTCUSDT",
                    "timeframe": "1m",
                    "side": "buy" if number % 2 else "sell",
                    "confidence": (number % 10) / 10,
                    "status": "accepted",
                    "price": Decimal(60000) + Decimal(number).scaleb(-8),
                    "created_at": start + timedelta(seconds=30 * number),
                }
            )
            if len(batch) == 20_000:
                session.execute(insert(Signal.__table__), batch)
                batch.clear()
        if batch:
            session.execute(insert(Signal.__table__), batch)


def timed(action, runs: int = 7) -> tuple[float, float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///var/bench-tables.db")
    parser.add_argument("--rows", type=int, default=1_000_000)
    options = parser.parse_args()
    upgrade(options.url)
    db = Database(options.url)
    seed(db, options.rows)
    app = Flask("bench")
    app.config["BOTDESK_DB"] = db
    grid = DeskGrid(
        "bench-signals",
        "signal",
        [
            GridColumn("created_at", "Time", "time"),
            GridColumn("bot_id", "Bot", "bot"),
            GridColumn("side", "Side", "choice"),
            GridColumn("price", "Price", "money"),
        ],
    )
    spec = tables.spec_of("signal")
    with app.app_context():
        print(f"{options.rows:,} signals on {db.engine.dialect.name}; grid blocks of 100 rows:")
        for name, request in CASES.items():
            median, worst = timed(lambda request=request: grid.rows(**request))
            print(f"  {name:30s} median {median:7.1f} ms   worst {worst:7.1f} ms")
        median, worst = timed(lambda: grid.marker(None))
        print(f"  {'change marker':30s} median {median:7.1f} ms   worst {worst:7.1f} ms")
        began, lines = time.perf_counter(), 0
        with db.reading() as session:
            query = tables.plain_query(spec)
            for chunk in csv_stream.lines(session.connection(), spec.columns(), query):
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - began
        print(
            f"export of every row: {lines - 1:,} rows in {seconds:.1f} s, "
            f"{(lines - 1) / seconds:,.0f} rows/s"
        )
    db.dispose()


if __name__ == "__main__":
    main()
