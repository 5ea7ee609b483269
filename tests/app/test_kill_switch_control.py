"""The navbar's kill switch on a real desk: a trader engages it with a reason and a mode, an
admin releases it; the reason is required; viewers and traders are refused what is above
them, the refusal audited and nothing changed."""

import pytest
from sqlmodel import col, select

from botdesk.db import kill_switch
from botdesk.db.models import Command
from tests.desk import click, shell_poll
from tests.rows import audit_trail

pytestmark = pytest.mark.integration
TICK = [{"id": "shell-tick", "property": "n_intervals", "value": 1}]


def switch(desk):
    with desk.db.reading() as session:
        return kill_switch.status(session=session)


def commands(desk) -> list[Command]:
    with desk.db.reading() as session:
        return list(session.exec(select(Command).order_by(col(Command.id))))


def control(client, desk) -> str:
    response = shell_poll(client, desk.base, TICK)
    assert response.status_code == 200, response.text[:300]
    return str(response.json()["response"]["kill-control"]["children"])


def test_engage_needs_a_reason_then_latches_and_release_is_for_admins(desk):
    trader = desk.signed_in("ks-trader", "trader")
    admin = desk.signed_in("ks-admin", "admin")
    viewer = desk.signed_in("ks-viewer", "viewer")
    assert "Kill switch" in control(trader, desk) and "kill-open" in control(trader, desk)
    assert control(viewer, desk) == "None"  # sees the state (the banner), has no control

    empty = click(
        trader, desk.base, "kill-engage", {"kill-reason.value": "  ", "kill-mode.value": "halt"}
    )
    assert "a reason is required" in empty.text
    assert not switch(desk).engaged and commands(desk) == []

    before = len(commands(desk))
    refused = click(
        viewer, desk.base, "kill-engage", {"kill-reason.value": "x", "kill-mode.value": "halt"}
    )
    assert refused.status_code == 403
    assert not switch(desk).engaged and len(commands(desk)) == before
    assert audit_trail(desk.db, actor="ks-viewer", action="access.refused")

    done = click(
        trader,
        desk.base,
        "kill-engage",
        {"kill-reason.value": "exchange is glitching", "kill-mode.value": "flatten"},
    )
    assert done.status_code == 200
    state = switch(desk)
    assert state.engaged and state.flatten
    assert (state.engaged_by, state.reason) == ("ks-trader", "exchange is glitching")
    assert [c.kind for c in commands(desk)] == ["kill_switch.engage"]
    assert audit_trail(desk.db, actor="ks-trader", action="command.kill_switch.engage")
    assert "KILL SWITCH ENGAGED" in control(trader, desk)
    assert "kill-release-open" in control(admin, desk)

    banner = shell_poll(viewer, desk.base, TICK)
    assert "by ks-trader" in banner.text and "exchange is glitching" in banner.text

    trader_release = click(trader, desk.base, "kill-release", {"kill-release-reason.value": "ok"})
    assert trader_release.status_code == 403 and switch(desk).engaged
    no_reason = click(admin, desk.base, "kill-release", {"kill-release-reason.value": ""})
    assert "a reason is required" in no_reason.text and switch(desk).engaged

    released = click(admin, desk.base, "kill-release", {"kill-release-reason.value": "all clear"})
    assert released.status_code == 200
    state = switch(desk)
    assert not state.engaged and (state.released_by, state.release_reason) == (
        "ks-admin",
        "all clear",
    )
    assert [c.kind for c in commands(desk)] == ["kill_switch.engage", "kill_switch.release"]
    again = click(admin, desk.base, "kill-release", {"kill-release-reason.value": "twice"})
    assert "not engaged" in again.text
