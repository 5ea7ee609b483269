"""The overview's totals from the ledger: the equity curve sums each bot's newest snapshot
per bucket, carries a bot's last value forward, and keeps to the market's last days."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from botdesk.db import portfolio
from botdesk.db.models import EquitySnapshot
from tests.factories import make_bot

NOW = datetime(2024, 10, 30, 12, tzinfo=UTC)
BUCKET = timedelta(hours=1)  # days=1, points=24


def snapshot(bot, at: datetime, equity: str) -> EquitySnapshot:
    return EquitySnapshot(
        bot_id=bot.id,
        at=at,
        candle_open_ms=int(at.timestamp() * 1000),
        equity=Decimal(equity),
        cash=Decimal(equity),
    )


def curve_of(db) -> list[tuple[datetime, float, float]]:
    with db.reading() as session:
        frame = portfolio.equity_curve(session=session, days=1, points=24)
    return [(row.at.to_pydatetime(), row.equity, row.drawdown) for row in frame.itertuples()]


def test_no_snapshot_no_curve(db):
    assert curve_of(db) == []


def test_newest_snapshot_per_bucket_summed_and_carried_forward(db):
    alpha, beta = make_bot(db, name="pf-alpha"), make_bot(db, name="pf-beta")
    hour = NOW - 3 * BUCKET
    with db.writing() as session:
        session.add_all(
            [
                snapshot(alpha, NOW - timedelta(days=2), "999"),  # before the window
                snapshot(alpha, hour + timedelta(minutes=10), "100"),
                snapshot(alpha, hour + timedelta(minutes=50), "120"),  # newest of its hour
                snapshot(beta, hour + timedelta(minutes=30), "50"),
                snapshot(alpha, hour + BUCKET + timedelta(minutes=5), "90"),  # beta silent
                snapshot(beta, hour + 2 * BUCKET, "60"),
                snapshot(alpha, NOW, "110"),
            ]
        )
    assert curve_of(db) == [
        (hour, 170.0, 0.0),
        (hour + BUCKET, 140.0, pytest.approx(140 / 170 - 1)),  # beta's 50 carried forward
        (hour + 2 * BUCKET, 150.0, pytest.approx(150 / 170 - 1)),  # alpha's 90 carried
        (NOW, 170.0, 0.0),
    ]
