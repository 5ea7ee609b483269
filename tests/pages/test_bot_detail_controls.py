"""A bot's own page starts, pauses and stops it as the Bots page does, on a real desk: the
same commands, the role checked on the server (a viewer is refused and audited), Start
disabled with the reason and refused while the kill switch is engaged; its equity curve."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from botdesk.db import kill_switch
from botdesk.db.models import BotState, EquitySnapshot, Role
from tests.desk import render
from tests.factories import make_bot
from tests.pages.test_bots import _button_props, commands_for, press
from tests.rows import audit_trail

pytestmark = pytest.mark.integration


def test_a_trader_drives_the_bot_from_its_page_a_viewer_cannot(desk):
    bot = make_bot(desk.db, name="own-page", state=BotState.RUNNING)
    viewer = desk.signed_in("bd-viewer")
    page = render(viewer, desk.base, f"/bots/{bot.id}")
    assert "bot-controls" in page and "bot-action" not in page  # no controls for a viewer
    pause = {"type": "bot-action", "bot": bot.id, "action": "pause"}
    refused = press(viewer, desk, pause)
    assert refused.status_code == 403 and commands_for(desk, bot) == []
    assert audit_trail(desk.db, actor="bd-viewer", action="access.refused")
    trader = desk.signed_in("bd-trader", "trader")
    page = render(trader, desk.base, f"/bots/{bot.id}")
    assert _button_props(page, pause)["children"] == "Pause"
    for action in ("pause", "start", "stop"):
        done = press(trader, desk, {"type": "bot-action", "bot": bot.id, "action": action})
        assert done.status_code == 200 and f"bot.{action} queued for own-page" in done.text
        assert "bot-queued" in done.text
    assert [c.kind for c in commands_for(desk, bot)] == ["bot.pause", "bot.start", "bot.stop"]
    assert {c.issued_by for c in commands_for(desk, bot)} == {"bd-trader"}


def test_start_is_refused_from_the_page_under_the_kill_switch(desk):
    bot = make_bot(desk.db, name="own-halted")
    trader = desk.signed_in("bd-t-halted", "trader")
    start = {"type": "bot-action", "bot": bot.id, "action": "start"}
    with desk.db.writing() as session:
        kill_switch.engage(session=session, by="bd-t-halted", role=Role.TRADER, reason="drill")
    try:
        page = render(trader, desk.base, f"/bots/{bot.id}")
        assert _button_props(page, start)["disabled"] is True
        assert kill_switch.START_REFUSED.capitalize() in page
        answer = press(trader, desk, start)
        assert f"own-halted not started: {kill_switch.START_REFUSED}" in answer.text
        assert "bot-refused" in answer.text and commands_for(desk, bot) == []
        [refused] = audit_trail(desk.db, actor="bd-t-halted", action="command.bot.start")
        assert refused.outcome == "refused"
    finally:
        with desk.db.writing() as session:
            kill_switch.release(session=session, by="admin", role=Role.ADMIN, reason="over")
    assert "queued for own-halted" in press(trader, desk, start).text


def test_the_page_shows_the_bots_equity_curve(desk):
    bot = make_bot(desk.db, name="own-curve")
    start = datetime(2024, 10, 30, tzinfo=UTC)
    with desk.db.writing() as session:
        for minute in range(30):
            at = start + timedelta(minutes=minute)
            session.add(
                EquitySnapshot(
                    bot_id=bot.id,
                    at=at,
                    candle_open_ms=int(at.timestamp() * 1000),
                    equity=Decimal(10000 + minute),
                    cash=Decimal(10000),
                )
            )
    page = render(desk.signed_in("bd-curve"), desk.base, f"/bots/{bot.id}")
    assert "bot-equity-graph" in page and "bot-returns" in page
