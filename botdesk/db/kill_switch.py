"""The kill switch as every surface sets it (desk, CLI, REST API): one implementation.

Engaging latches the flag in `engine_state` in the same transaction as the command and its
audit row, so the switch holds before the engine has even seen the command, and across
restarts. Only an admin releases it; bots stay stopped after a release.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from botdesk.db import commands, engine_state, notification_events, notifications
from botdesk.db.models import Command, EngineState, Role
from botdesk.db.types import utcnow


class KillSwitchError(ValueError):
    """The kill switch cannot be changed as asked; the message says why."""


# What every surface answers to a bot start while the switch is engaged (the API's 409).
START_REFUSED = "the kill switch is engaged: no bot starts until an admin releases it"


@dataclass(frozen=True)
class KillSwitchStatus:
    engaged: bool
    flatten: bool
    reason: str | None
    engaged_by: str | None
    engaged_at: datetime | None
    command_id: int | None
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None

    def as_dict(self) -> dict:
        return {
            "engaged": self.engaged,
            "flatten": self.flatten,
            "reason": self.reason,
            "engaged_by": self.engaged_by,
            "engaged_at": self.engaged_at.isoformat() if self.engaged_at else None,
            "command_id": self.command_id,
            "released_by": self.released_by,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "release_reason": self.release_reason,
        }


def clean_reason(reason: str | None) -> str:
    """`commands.clean_reason`, refusing as a kill-switch error."""
    try:
        return commands.clean_reason(reason)
    except commands.BadReason as error:
        raise KillSwitchError(str(error)) from None


def status(*, session: Session) -> KillSwitchStatus:
    return status_of(engine_state.get(session=session))


def status_of(state: EngineState) -> KillSwitchStatus:
    """The switch as the engine's state row holds it (one read serves the whole shell)."""
    return KillSwitchStatus(
        engaged=state.kill_switch_engaged,
        flatten=state.kill_switch_flatten,
        reason=state.kill_switch_reason,
        engaged_by=state.kill_switch_by,
        engaged_at=state.kill_switch_at,
        command_id=state.kill_switch_command_id,
        released_by=state.released_by,
        released_at=state.released_at,
        release_reason=state.release_reason,
    )


def engage(
    *,
    session: Session,
    by: str,
    role: Role,
    reason: str,
    flatten: bool = False,
    via: str = "desk",
    ip: str | None = None,
    user_id: int | None = None,
) -> Command:
    """Latch the switch and queue the engine's halt (and flatten). Trader or admin.

    Engaging again while engaged queues the halt again (the engine's handling is idempotent)
    and can add flattening; the original who/when/why stay on record.
    """
    if not Role(role).allows(Role.TRADER):
        raise KillSwitchError("engaging the kill switch needs the trader or admin role")
    reason = clean_reason(reason)
    state = engine_state.lock(session=session)
    command = commands.issue(
        session=session,
        kind="kill_switch.engage",
        issued_by=by,
        via=via,
        target="all",
        params={"flatten": bool(flatten)},
        reason=reason,
        ip=ip,
        user_id=user_id,
    )
    if not state.kill_switch_engaged:
        state.kill_switch_engaged = True
        state.kill_switch_by = by
        state.kill_switch_at = utcnow()
        state.kill_switch_reason = reason
        state.kill_switch_flatten = bool(flatten)
    else:
        state.kill_switch_flatten = state.kill_switch_flatten or bool(flatten)
    state.kill_switch_command_id = command.id
    session.add(state)
    return command


def release(
    *,
    session: Session,
    by: str,
    role: Role,
    reason: str,
    via: str = "desk",
    ip: str | None = None,
    user_id: int | None = None,
) -> Command:
    """Unlatch the switch. Admin only. Bots stay stopped until someone starts them."""
    if Role(role) != Role.ADMIN:
        raise KillSwitchError("only an admin can release the kill switch")
    reason = clean_reason(reason)
    state = engine_state.lock(session=session)
    if not state.kill_switch_engaged:
        raise KillSwitchError("the kill switch is not engaged")
    command = commands.issue(
        session=session,
        kind="kill_switch.release",
        issued_by=by,
        via=via,
        target="all",
        reason=reason,
        ip=ip,
        user_id=user_id,
    )
    state.kill_switch_engaged = False
    state.kill_switch_flatten = False
    state.released_by = by
    state.released_at = utcnow()
    state.release_reason = reason
    session.add(state)
    notifications.emit(
        session,
        notification_events.kill_switch_released(command_id=command.id, by=by, reason=reason),
    )
    return command
