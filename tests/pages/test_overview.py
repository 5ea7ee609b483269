"""The Overview page on a real desk: totals from the ledger, today's P&L on the market's
day, the equity curve, and re-rendering only when something changed."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from botdesk.db.models import BotState, EquitySnapshot, Fill, Order, RiskEvent, Signal
from tests.desk import dash_call, render
from tests.factories import make_bot, make_position

pytestmark = pytest.mark.integration
DAY = datetime(2024, 10, 30, tzinfo=UTC)
SUMMARY = "..overview-summary.children...overview-marker.data.."
TICK = [{"id": "overview-summary-tick", "property": "n_intervals", "value": 1}]


def test_empty_desk_says_what_to_do(desk):
    page = render(desk.signed_in("ov-first"), desk.base, "/")
    assert "No bots yet — an admin creates one on the Bots page." in page
    assert "No equity yet" in page and "overview-health" in page


def test_totals_todays_pnl_and_the_curve(desk):
    alpha = make_bot(desk.db, name="ov-alpha", state=BotState.RUNNING)
    beta = make_bot(desk.db, name="ov-beta", state=BotState.PAUSED)
    make_position(desk.db, alpha, unrealized_pnl=Decimal("25.5"))
    with desk.db.writing() as session:
        for minute in range(120):
            for bot, base in ((alpha, 10000), (beta, 5000)):
                at = DAY + timedelta(minutes=minute)
                session.add(
                    EquitySnapshot(
                        bot_id=bot.id,
                        at=at,
                        candle_open_ms=int(at.timestamp() * 1000),
                        equity=Decimal(base) + (minute % 7),
                        cash=Decimal(base),
                    )
                )
        order = Order(
            bot_id=alpha.id,
            client_order_id="ov-1",
            symbol="BTCUSDT",
            side="sell",
            quantity=Decimal(1),
        )
        session.add(order)
        session.flush()
        for number, (pnl, when) in enumerate(
            [
                ("-100", DAY - timedelta(hours=1)),
                ("12.25", DAY + timedelta(minutes=5)),
                ("30", DAY + timedelta(minutes=50)),
            ]
        ):
            session.add(
                Fill(
                    order_id=order.id,
                    bot_id=alpha.id,
                    trade_id=str(number),
                    symbol="BTCUSDT",
                    side="sell",
                    quantity=Decimal("0.1"),
                    price=Decimal(60000),
                    realized_pnl=Decimal(pnl),
                    filled_at=when,
                )
            )
        session.add(
            Signal(
                bot_id=beta.id,
                dedupe_key="c:1",
                symbol="BTCUSDT",
                timeframe="1m",
                side="buy",
                confidence=0.8,
                price=Decimal("61000"),
                status="accepted",
            )
        )
        session.add(
            RiskEvent(
                bot_id=alpha.id,
                kind="refused",
                rule="max_position",
                severity="warning",
                message="order above the max position",
            )
        )
    viewer = desk.signed_in("ov-viewer")
    page = render(viewer, desk.base, "/")
    # the market's day is 2024-10-30 (the newest snapshot); the -100 fill was the day before
    assert "market day 2024-10-30 UTC" in page
    assert "+42.25 USDT" in page  # realized today: 12.25 + 30
    assert "+25.50 USDT" in page  # unrealized of the open position
    # the last minute (119): 10000 + 0 and 5000 + 0
    assert "15,000.00 USDT" in page
    assert "ov-alpha" in page and "order above the max position" in page and "61,000.00" in page
    assert '"type":"Graph"' in page

    first = dash_call(
        viewer,
        desk.base,
        SUMMARY,
        TICK,
        state=[{"id": "overview-marker", "property": "data", "value": None}],
    )
    assert first.status_code == 200
    marker = first.json()["response"]["overview-marker"]["data"]
    unchanged = dash_call(
        viewer,
        desk.base,
        SUMMARY,
        TICK,
        state=[{"id": "overview-marker", "property": "data", "value": marker}],
    )
    assert unchanged.status_code == 204  # nothing changed: nothing sent
