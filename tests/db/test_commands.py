"""The command queue's contract: issued with its audit row, claimed exactly once."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from botdesk.db import commands
from botdesk.db.models import AuditLog, Command, CommandStatus


def test_issuing_writes_the_command_and_its_audit_row_together(db):
    with db.writing() as session:
        command = commands.issue(
            session=session,
            kind="bot.stop",
            issued_by="alice",
            target="bot:3",
            reason="maintenance",
            params={"why": 1},
        )
    with db.reading() as session:
        stored = session.get(Command, command.id)
        trail = session.exec(select(AuditLog).where(AuditLog.action == "command.bot.stop")).one()
    assert stored.status == CommandStatus.PENDING
    assert stored.acked_at is None
    assert json.loads(stored.params) == {"why": 1}
    assert (trail.actor, trail.target, trail.reason) == ("alice", "bot:3", "maintenance")
    assert json.loads(trail.details)["command_id"] == command.id


def test_a_failed_transaction_leaves_neither_command_nor_audit_row(db):
    with pytest.raises(RuntimeError), db.writing() as session:
        commands.issue(session=session, kind="bot.stop", issued_by="alice")
        raise RuntimeError("desk crashed mid-request")
    with db.reading() as session:
        assert session.exec(select(Command)).all() == []
        assert session.exec(select(AuditLog)).all() == []


def test_each_command_is_claimed_exactly_once_by_competing_engines(db):
    with db.writing() as session:
        ids = [
            commands.issue(session=session, kind="engine.ping", issued_by="t").id for _ in range(60)
        ]

    def engine(name: str) -> list[int]:
        won = []
        for command_id in ids:
            with db.writing() as session:
                if commands.claim(session=session, command_id=command_id, engine_id=name):
                    won.append(command_id)
        return won

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(engine, ["e1", "e2", "e3", "e4"]))
    every_claim = [command_id for won in claims for command_id in won]
    assert sorted(every_claim) == ids
    with db.reading() as session:
        rows = session.exec(select(Command)).all()
    assert all(row.status == CommandStatus.RUNNING and row.attempts == 1 for row in rows)
    assert all(row.acked_at is not None and row.claimed_by for row in rows)


def test_a_kill_switch_engage_jumps_the_queue(db):
    with db.writing() as session:
        first = commands.issue(session=session, kind="bot.start", issued_by="a", target="bot:1")
        second = commands.issue(session=session, kind="engine.ping", issued_by="a")
        engage = commands.issue(session=session, kind="kill_switch.engage", issued_by="b")
        release = commands.issue(session=session, kind="kill_switch.release", issued_by="c")
    with db.reading() as session:
        order = commands.pending_ids(session=session)
    assert order == [engage.id, first.id, second.id, release.id]
