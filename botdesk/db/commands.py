"""The command queue: the desk, CLI and API insert rows; the engine claims and runs them.

Issuing writes the command and its audit row in the caller's transaction, so either both
exist or neither does. Claiming is a conditional UPDATE, so each command runs once even
with several engines polling the same table.
"""

import json
from typing import Any

from sqlalchemy import case, update
from sqlmodel import Session, col, select

from botdesk.db import audit, notification_events, notifications, typed
from botdesk.db.models import Command, CommandStatus
from botdesk.db.types import utcnow

MAX_REASON = 500  # characters; the API's reason fields say the same


class BadReason(ValueError):
    """A reason a command cannot be issued with (missing or too long)."""


def clean_reason(reason: str | None) -> str:
    """The reason an operator gives for a command (kill switch, closing a position),
    stripped; missing or overlong is refused with a message for the operator."""
    text = typed.text(reason, field="reason", most=MAX_REASON, refuse=BadReason, required=False)
    if not text:
        raise BadReason("a reason is required")
    return text


def issue(
    *,
    session: Session,
    kind: str,
    issued_by: str,
    via: str = "desk",
    target: str | None = None,
    params: dict[str, Any] | None = None,
    reason: str | None = None,
    ip: str | None = None,
    user_id: int | None = None,
) -> Command:
    command = Command(
        kind=kind,
        target=target,
        params=json.dumps(params or {}, sort_keys=True, default=str),
        issued_by=issued_by,
        issued_via=via,
        reason=reason,
    )
    session.add(command)
    session.flush()
    audit.record(
        session=session,
        actor=issued_by,
        user_id=user_id,
        action=f"command.{kind}",
        target=target,
        reason=reason,
        ip=ip,
        details={"command_id": command.id, "via": via, "params": params or {}},
    )
    return command


URGENT_KINDS = ("kill_switch.engage",)  # run before anything else waiting


def pending_ids(*, session: Session, limit: int = 50) -> list[int]:
    """Pending commands in the order to run them: urgent kinds first, then oldest first."""
    urgent = case((col(Command.kind).in_(URGENT_KINDS), 0), else_=1)
    query = (
        select(Command.id)
        .where(Command.status == CommandStatus.PENDING)
        .order_by(urgent, col(Command.id))
        .limit(limit)
    )
    return list(session.exec(query))


def claim(*, session: Session, command_id: int, engine_id: str) -> bool:
    """Mark one pending command running for this engine; False if someone else got it."""
    result = session.execute(
        update(Command)
        .where(col(Command.id) == command_id, col(Command.status) == CommandStatus.PENDING)
        .values(
            status=CommandStatus.RUNNING,
            acked_at=utcnow(),
            claimed_by=engine_id,
            attempts=Command.attempts + 1,
        )
    )
    return result.rowcount == 1


def finish(*, session: Session, command: Command, ok: bool, result: str) -> None:
    command.status = CommandStatus.DONE if ok else CommandStatus.FAILED
    command.finished_at = utcnow()
    command.result = result
    session.add(command)
    if command.kind == "kill_switch.engage":
        # announced once the engine has halted (and flattened): who, why, and what it did
        notifications.emit(
            session,
            notification_events.kill_switch_engaged(
                command_id=command.id,
                by=command.issued_by,
                reason=command.reason or "no reason given",
                flatten=bool(params_of(command).get("flatten")),
                outcome=result,
                ok=ok,
            ),
        )


def left_running(*, session: Session, engine_ids: list[str] | None = None) -> list[Command]:
    """Commands an engine claimed but never finished (it died); re-examined at restart."""
    query = select(Command).where(Command.status == CommandStatus.RUNNING)
    if engine_ids is not None:
        query = query.where(col(Command.claimed_by).in_(engine_ids))
    return list(session.exec(query.order_by(col(Command.id))))


def params_of(command: Command) -> dict[str, Any]:
    return json.loads(command.params or "{}")
