"""Capital added is never profit, on a real desk: bots created, given more capital or
deleted on the Bots page write their capital flow in the same transaction; the overview
and the bot's page show the equity with the flows, and the time-weighted return and
drawdown of the P&L alone (issue 14: two bots of 3,500 made a 1.7 % loss read -1.05 %)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db.models import Bot, CapitalFlow, DeletedBotEquity, EquitySnapshot
from tests.desk import click, render
from tests.factories import make_bot
from tests.pages.test_bots import bot_named, save

pytestmark = pytest.mark.integration
D = Decimal
DAY = datetime(2024, 10, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def snapshots(desk, bot_ids, minutes, equity: str) -> None:
    with desk.db.writing() as session:
        for bot_id in bot_ids:
            for minute in minutes:
                at = DAY + minute * MINUTE
                session.add(
                    EquitySnapshot(
                        bot_id=bot_id,
                        at=at,
                        candle_open_ms=int(at.timestamp() * 1000),
                        equity=D(equity),
                        cash=D(equity),
                    )
                )


def flows_of(desk, name: str) -> list[tuple[str, Decimal, str]]:
    with desk.db.reading() as session:
        rows = session.exec(
            select(CapitalFlow).where(CapitalFlow.bot_name == name).order_by(col(CapitalFlow.id))
        )
        return [(row.kind, row.amount, row.actor) for row in rows]


def test_two_bots_created_on_the_bots_page_are_no_profit_on_the_overview(desk):
    old = [make_bot(desk.db, name=f"cf-old-{n}").id for n in range(3)]
    snapshots(desk, old, range(10), "10000")
    snapshots(desk, old, range(10, 20), "9830")  # a real loss of 1.7 %
    admin = desk.signed_in("cf-admin", "admin")
    for name in ("cf-new-1", "cf-new-2"):
        created = save(admin, desk, {"fast": 5, "slow": 20}, name=name, capital="3500")
        assert f"Created {name}" in created.text
        assert flows_of(desk, name) == [("created", D("3500"), "cf-admin")]
    new = [bot_named(desk, "cf-new-1").id, bot_named(desk, "cf-new-2").id]
    snapshots(desk, old, range(20, 30), "9830")
    snapshots(desk, new, range(20, 30), "3500")
    page = render(desk.signed_in("cf-viewer"), desk.base, "/")
    assert "36,490.00 USDT" in page  # 29,490 + the 7,000 that came in
    assert "return -1.70 %" in page and "drawdown -1.70 %" in page
    assert "flows +7,000.00" in page
    assert "cf-new-1: bot created, +3,500.00 USDT" in page  # marked on the chart


def test_capital_changed_on_the_bots_page_is_a_flow_not_a_gain(desk):
    admin = desk.signed_in("cf-editor", "admin")
    assert "Created cf-edited" in save(admin, desk, {"fast": 5, "slow": 20}, name="cf-edited").text
    bot = bot_named(desk, "cf-edited")
    snapshots(desk, [bot.id], range(40, 45), "2500.5")
    refused = save(
        admin, desk, {"fast": 5, "slow": 20}, name="cf-edited", editing=bot.id, capital="-1"
    )
    assert "capital: must be between" in refused.text
    saved = save(
        admin, desk, {"fast": 5, "slow": 20}, name="cf-edited", editing=bot.id, capital="5001"
    )
    assert "Saved cf-edited" in saved.text
    assert flows_of(desk, "cf-edited") == [
        ("created", D("2500.5"), "cf-editor"),
        ("changed", D("2500.5"), "cf-editor"),  # the refused save wrote nothing
    ]
    snapshots(desk, [bot.id], range(45, 47), "5001")
    page = render(desk.signed_in("cf-bot-viewer"), desk.base, f"/bots/{bot.id}")
    assert "return +0.00 %" in page and "drawdown 0.00 %" in page  # not +100 %
    assert "cf-edited: capital changed, +2,500.50 USDT" in page


def test_a_deleted_bot_leaves_as_a_flow_and_its_history_stays(desk):
    admin = desk.signed_in("cf-deleter", "admin")
    doomed = make_bot(desk.db, name="cf-doomed", capital=D("4000"))
    snapshots(desk, [doomed.id], range(50, 53), "4000")
    done = click(admin, desk.base, "bots-delete-confirm", {"bots-deleting.data": doomed.id})
    assert "Deleted cf-doomed" in done.text and bot_named(desk, "cf-doomed") is None
    assert flows_of(desk, "cf-doomed") == [("deleted", D("-4000"), "cf-deleter")]
    with desk.db.reading() as session:
        kept = session.exec(select(DeletedBotEquity).where(DeletedBotEquity.bot_id == doomed.id))
        assert [row.equity for row in kept] == [D("4000")] * 3
        assert session.get(Bot, doomed.id) is None
