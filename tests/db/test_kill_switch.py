"""The kill switch's latch: set with its command in one transaction; released by admins only."""

import pytest
from sqlmodel import select

from botdesk.db import kill_switch
from botdesk.db.kill_switch import KillSwitchError
from botdesk.db.models import AuditLog, Command, Role


def test_engaging_latches_the_flag_with_its_command_and_audit_row(db):
    with db.writing() as session:
        command = kill_switch.engage(
            session=session,
            by="tina",
            role=Role.TRADER,
            reason="  exchange acting up ",
            flatten=True,
            via="api",
        )
    with db.reading() as session:
        state = kill_switch.status(session=session)
        stored = session.get(Command, command.id)
        trail = session.exec(select(AuditLog)).one()
    assert state.engaged and state.flatten
    assert (state.engaged_by, state.reason, state.command_id) == (
        "tina",
        "exchange acting up",
        command.id,
    )
    assert (stored.kind, stored.issued_via, stored.status) == (
        "kill_switch.engage",
        "api",
        "pending",
    )
    assert trail.action == "command.kill_switch.engage" and trail.actor == "tina"


def test_a_failed_transaction_leaves_the_switch_off(db):
    with pytest.raises(RuntimeError), db.writing() as session:
        kill_switch.engage(session=session, by="tina", role=Role.TRADER, reason="x")
        raise RuntimeError("request died")
    with db.reading() as session:
        assert not kill_switch.status(session=session).engaged
        assert session.exec(select(Command)).all() == []


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 501])
def test_a_reason_is_required(db, reason):
    with pytest.raises(KillSwitchError), db.writing() as session:
        kill_switch.engage(session=session, by="tina", role=Role.TRADER, reason=reason)
    with db.reading() as session:
        assert not kill_switch.status(session=session).engaged


def test_viewers_cannot_engage_and_traders_cannot_release(db):
    with pytest.raises(KillSwitchError, match="trader or admin"), db.writing() as session:
        kill_switch.engage(session=session, by="vic", role=Role.VIEWER, reason="curious")
    with db.writing() as session:
        kill_switch.engage(session=session, by="tina", role=Role.TRADER, reason="halt")
    with pytest.raises(KillSwitchError, match="only an admin"), db.writing() as session:
        kill_switch.release(session=session, by="tina", role=Role.TRADER, reason="all good")
    with db.reading() as session:
        assert kill_switch.status(session=session).engaged


def test_release_records_who_and_why_and_refuses_when_not_engaged(db):
    with db.writing() as session:
        kill_switch.engage(session=session, by="tina", role=Role.TRADER, reason="halt")
    with db.writing() as session:
        kill_switch.release(session=session, by="ada", role=Role.ADMIN, reason="checked")
    with db.reading() as session:
        state = kill_switch.status(session=session)
    assert not state.engaged
    assert (state.released_by, state.release_reason) == ("ada", "checked")
    assert state.engaged_by == "tina"  # the last engagement stays on record
    with pytest.raises(KillSwitchError, match="not engaged"), db.writing() as session:
        kill_switch.release(session=session, by="ada", role=Role.ADMIN, reason="again")
