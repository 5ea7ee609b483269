"""Trades and performance on the seeded desk database (bench/seed_desk.py: 1M fills, 100k
round trips): the set-based reads of botdesk.db.trades beside a row-by-row reference in
the same process (every fill of the chosen trades read into Python and summed there, the
way one would without the SQL sums), the results compared. Performance (every bot or one:
read from the bots' trade summaries the ledger keeps, `trade_summary`) runs interleaved
with what it replaced, the same figures folded from every closed position (the path a
symbol or entry-day filter still takes: here entered since 1970, i.e. all of them), and
with the fill-based reference (tests/db/reference_trades.py: each trade's cost summed from
its buy fills in SQL), the figures compared bot by bot, to the unit.

    .venv/bin/python bench/trades_speed.py [--database-url URL] [--repeat 5]

Figures: median seconds per read (repeat runs), the load average before and after.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402

from botdesk.db import trades  # noqa: E402
from botdesk.db.models import Bot, Fill, Position, PositionStatus  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from botdesk.db.types import quantize  # noqa: E402
from tests.db import reference_trades  # noqa: E402

DEFAULT_URL = f"sqlite:///{ROOT / 'var' / 'bench' / 'desk.db'}"


def timed(repeat: int, read) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = read()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def interleaved(repeat: int, db, reads: dict) -> dict[str, tuple[list[float], object]]:
    """Each read once per round, in turn, `repeat` rounds: (seconds, last result) by name."""
    found = {name: ([], None) for name in reads}
    for _ in range(repeat):
        for name, read in reads.items():
            with db.reading() as session:
                started = time.perf_counter()
                result = read(session)
                found[name][0].append(time.perf_counter() - started)
            found[name] = (found[name][0], result)
    return found


def percentile(seconds: list[float], share: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def row_by_row(session, chosen: trades.TradeFilter) -> tuple[Decimal, Decimal, int]:
    """(total P&L, sum of the trades' P&L ratios, trades) of the chosen closed trades, by
    reading every one of their fills into Python."""
    positions = select(Position.id).where(
        col(Position.status) == PositionStatus.CLOSED, *chosen.conditions()
    )
    found: dict[int, list[Decimal]] = {}
    fills = session.exec(
        select(Fill).where(col(Fill.position_id).in_(positions)).order_by(col(Fill.id))
    )
    for fill in fills:
        pnl_cost = found.setdefault(fill.position_id, [Decimal(0), Decimal(0)])
        pnl_cost[0] += fill.realized_pnl
        if fill.side == "buy":
            pnl_cost[1] += quantize(fill.quantity * fill.price)
    total = sum((pnl for pnl, _ in found.values()), Decimal(0))
    ratios = sum((trades.ratio(pnl, cost) for pnl, cost in found.values()), Decimal(0))
    return total, ratios, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    db = Database(args.database_url)
    before = os.getloadavg()
    with db.reading() as session:
        fills = session.exec(select(col(Fill.id)).order_by(col(Fill.id).desc()).limit(1)).one()
        bot_id = session.exec(select(col(Bot.id)).order_by(col(Bot.id))).first()
    one_bot = trades.TradeFilter(bot_id=bot_id)
    everything = trades.TradeFilter()
    folded = trades.TradeFilter(since=datetime(1970, 1, 1, tzinfo=UTC))  # all, filtered
    reads = {
        "trades page (100, every bot)": lambda s: trades.trades(session=s, limit=100),
        "trades page (100, one bot)": lambda s: trades.trades(session=s, chosen=one_bot),
        "performance (every bot)": lambda s: trades.performance(session=s),
        "  before: folded from the positions (every bot)": lambda s: trades.performance(
            session=s, chosen=folded
        ),
        "  before: from the fills (every bot)": lambda s: reference_trades.performance(session=s),
        "performance (one bot)": lambda s: trades.performance(session=s, chosen=one_bot),
        "  before: from the fills (one bot)": lambda s: reference_trades.performance(
            session=s, chosen=one_bot
        ),
    }
    print(f"{args.database_url}: {fills:,} fills; load average before {before}")
    print(f"  {'read (interleaved, ' + str(args.repeat) + ' rounds)':<50} {'p50':>9} {'p95':>9}")
    found = interleaved(args.repeat, db, reads)
    results = {name: result for name, (_, result) in found.items()}
    for name, (seconds, _) in found.items():
        print(
            f"  {name:<50} {percentile(seconds, 0.5) * 1000:6.1f} ms"
            f" {percentile(seconds, 0.95) * 1000:6.1f} ms"
        )
    for label in ("every bot", "one bot"):
        fast = results[f"performance ({label})"]
        before_ = results[f"  before: from the fills ({label})"]
        print(
            f"  performance ({label}): {len(fast)} bots, figures identical to the fill-based"
            f" reference: {fast == before_}"
        )
    same = (
        results["  before: folded from the positions (every bot)"]
        == results["performance (every bot)"]
    )
    print(f"  performance folded from the positions (every bot) identical to the summaries: {same}")
    for label, chosen, figures in (
        ("one bot", one_bot, results["performance (one bot)"]),
        ("every bot", everything, results["performance (every bot)"]),
    ):
        with db.reading() as session:
            seconds, (total, ratios, count) = timed(
                1, lambda chosen=chosen: row_by_row(session, chosen)
            )
        same = total == sum((f.total_pnl for f in figures), Decimal(0)) and ratios == sum(
            (f.total_pnl_ratio for f in figures), Decimal(0)
        )
        print(
            f"  reference, every fill read in Python ({label}) {seconds * 1000:9.1f} ms"
            f"  ({count:,} trades; same P&L and ratios: {same})"
        )
    print(f"load average after {os.getloadavg()}")
    db.dispose()


if __name__ == "__main__":
    main()
