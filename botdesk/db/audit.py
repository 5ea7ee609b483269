"""The audit log: who did what, to what, with what outcome. Rows are only ever added."""

import json
from typing import Any

from sqlmodel import Session, col, select

from botdesk.db.models import AuditLog


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    reason: str | None = None,
    ip: str | None = None,
    user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    row = AuditLog(
        actor=actor,
        user_id=user_id,
        action=action,
        target=target,
        outcome=outcome,
        reason=reason,
        ip=ip,
        details=json.dumps(details, default=str, sort_keys=True) if details else None,
    )
    session.add(row)
    return row


def recent(*, session: Session, limit: int = 100, action: str | None = None) -> list[AuditLog]:
    query = select(AuditLog).order_by(col(AuditLog.id).desc()).limit(limit)
    if action:
        query = query.where(AuditLog.action == action)
    return list(session.exec(query))
