"""What the overview's equity series costs now that capital flows are kept apart from P&L:
botdesk.db.performance (the bots' newest snapshot per bucket, an opening point, the flows
placed where each bot's equity first holds them, the time-weighted return) beside the
curve it replaced (the newest snapshot per bucket summed, drawdown on the equity), on the
same database: `--bots` bots with `--minutes` 1-minute snapshots each, and `--flows`
capital changes spread over the history.

    .venv/bin/python bench/equity_series.py [--database-url URL] [--bots 20] [--minutes 10080]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, col, func, select  # noqa: E402

from botdesk.db import performance  # noqa: E402
from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.db.models import Bot, CapitalFlow, EquitySnapshot  # noqa: E402
from botdesk.db.session import Database  # noqa: E402
from botdesk.db.types import to_units  # noqa: E402

START = datetime(2024, 10, 1, tzinfo=UTC)


def replaced_curve(session: Session, days: int = 7, points: int = 600) -> pd.DataFrame:
    """The overview's curve before capital flows (botdesk.db.portfolio.equity_curve)."""
    now = session.exec(select(func.max(EquitySnapshot.at))).one()
    start = now - timedelta(days=days)
    bucket_ms = max(60_000, int(days * 86_400_000 / points))
    bucket = col(EquitySnapshot.candle_open_ms) // bucket_ms
    newest = func.row_number().over(
        partition_by=(col(EquitySnapshot.bot_id), bucket), order_by=col(EquitySnapshot.id).desc()
    )
    ranked = (
        select(EquitySnapshot.bot_id, EquitySnapshot.at, EquitySnapshot.equity, newest.label("n"))
        .where(col(EquitySnapshot.at) >= start, col(EquitySnapshot.candle_open_ms).is_not(None))
        .subquery()
    )
    rows = session.exec(
        select(ranked.c.bot_id, ranked.c.at, ranked.c.equity).where(ranked.c.n == 1)
    ).all()
    frame = pd.DataFrame(rows, columns=["bot_id", "at", "equity"])
    frame["equity"] = frame["equity"].astype(float)
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.floor(f"{bucket_ms}ms")
    wide = frame.pivot_table(index="at", columns="bot_id", values="equity", aggfunc="last")
    total = wide.sort_index().ffill().sum(axis=1, min_count=1).dropna()
    curve = pd.DataFrame({"at": total.index, "equity": total.to_numpy()})
    curve["drawdown"] = curve["equity"] / curve["equity"].cummax() - 1
    return curve


def seed(db: Database, bots: int, minutes: int, flows: int) -> None:
    with db.writing() as session:
        ids = []
        for number in range(bots):
            bot = Bot(name=f"bench-{number}", strategy="ema_cross", symbol="BTCUSDT")
            session.add(bot)
            session.flush()
            ids.append(bot.id)
        rows = []
        for bot_id in ids:
            for minute in range(minutes):
                at = START + timedelta(minutes=minute)
                units = to_units(Decimal(10000 + (minute % 97) - 48))
                rows.append(
                    {
                        "bot_id": bot_id,
                        "at": at,
                        "candle_open_ms": int(at.timestamp() * 1000) - 60_000,
                        "equity": Decimal(units).scaleb(-8),
                        "cash": Decimal(10000),
                    }
                )
            session.execute(insert(EquitySnapshot), rows)
            rows = []
        for number in range(flows):
            at = START + timedelta(minutes=minutes * (number + 1) // (flows + 1))
            session.add(
                CapitalFlow(
                    bot_id=ids[number % bots],
                    bot_name=f"bench-{number % bots}",
                    at=at,
                    recorded_at=at,
                    amount=Decimal(500),
                    kind="changed",
                    actor="bench",
                )
            )


def timed(call, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=10080)
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    seed(db, args.bots, args.minutes, args.flows)
    print(
        f"{url.split(':')[0]}: {args.bots} bots x {args.minutes} snapshots, {args.flows} flows; "
        f"load avg {'/'.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    with db.reading() as session:
        old = timed(lambda: replaced_curve(session), args.repeat)
        new = timed(lambda: performance.performance(session=session), args.repeat)
        found = performance.performance(session=session)
    print(f"{'':34} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'replaced curve (equity drawdown)':34} {old[0]:8.1f} {old[1]:8.1f}")
    print(f"{'performance (flows, TWR)':34} {new[0]:8.1f} {new[1]:8.1f}")
    print(
        f"points {len(found.points)}, marks {len(found.marks)}, "
        f"return {found.time_weighted_return:.6f}; "
        f"load avg {'/'.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    db.dispose()


if __name__ == "__main__":
    main()
