"""The signed-in user acting in this request, as the audit log records them."""

from typing import Any

from flask import request
from flask_login import current_user
from sqlmodel import Session

from botdesk.db import audit, commands
from botdesk.db.models import AuditLog


def record(
    db_session: Session,
    action: str,
    *,
    target: str | None = None,
    outcome: str = "ok",
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """An audit row for what the current user did (or tried), with their IP address."""
    return audit.record(
        session=db_session,
        actor=current_user.username,
        user_id=current_user.id,
        action=action,
        target=target,
        outcome=outcome,
        reason=reason,
        ip=request.remote_addr,
        details=details,
    )


def issue_command(
    db_session: Session,
    kind: str,
    *,
    target: str,
    reason: str | None = None,
    params: dict[str, Any] | None = None,
):
    """Queue an engine command as the current user (its audit row in the same transaction)."""
    return commands.issue(
        session=db_session,
        kind=kind,
        issued_by=current_user.username,
        via="desk",
        target=target,
        params=params,
        reason=reason,
        ip=request.remote_addr,
        user_id=current_user.id,
    )
