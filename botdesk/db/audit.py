"""The audit log: who did what, to what, with what outcome. Rows are only ever added.

`AuditFilter` is the one definition of the log's filters, shared by the desk's audit page
and the CSV export (`/export/audit_log.csv?actor=...&action=...&outcome=...&from=...&to=...`,
dates as YYYY-MM-DD in UTC, both days included).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session, col, func, select

from botdesk.db.models import AuditLog
from botdesk.redaction import redact

OUTCOMES = ("ok", "refused", "failed")


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
        target=redact(target),
        outcome=outcome,
        reason=redact(reason),
        ip=ip,
        details=redact(json.dumps(details, default=str, sort_keys=True)) if details else None,
    )
    session.add(row)
    return row


def new_address(*, session: Session, user_id: int, ip: str) -> bool:
    """True when the user signed in before, but never from this address."""
    signed_in = select(AuditLog.ip).where(
        AuditLog.user_id == user_id, AuditLog.action == "login.ok"
    )
    if session.exec(signed_in.limit(1)).first() is None:
        return False  # a first sign-in has no usual address yet
    return session.exec(signed_in.where(AuditLog.ip == ip).limit(1)).first() is None


def recent(*, session: Session, limit: int = 100, action: str | None = None) -> list[AuditLog]:
    return search(session=session, filters=AuditFilter(action=action), limit=limit)


class BadFilter(ValueError):
    """A filter value the audit log cannot use; the message says which."""


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadFilter(f"{name} must be a date like 2025-01-31, not {value!r}") from None
    if day >= date.max:  # 'to' reads up to the next midnight, which must exist
        raise BadFilter(f"{name} must be a day up to 9999-12-30, not {value!r}")
    return day


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: date | None = None  # first day included (UTC)
    until: date | None = None  # last day included (UTC)

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> "AuditFilter":
        """From query parameters (actor, action, outcome, from, to); BadFilter if invalid."""
        outcome = (args.get("outcome") or "").strip() or None
        if outcome is not None and outcome not in OUTCOMES:
            raise BadFilter(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        since, until = _day(args.get("from"), "from"), _day(args.get("to"), "to")
        if since and until and since > until:
            raise BadFilter("'from' is after 'to'")
        return cls(
            actor=(args.get("actor") or "").strip() or None,
            action=(args.get("action") or "").strip() or None,
            outcome=outcome,
            since=since,
            until=until,
        )

    def query_string(self) -> str:
        """The same filters as query parameters, for the export link."""
        pairs = {
            "actor": self.actor,
            "action": self.action,
            "outcome": self.outcome,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
        }
        return urlencode({key: value for key, value in pairs.items() if value})

    def apply(self, query):
        if self.actor:
            query = query.where(AuditLog.actor == self.actor)
        if self.action:
            query = query.where(AuditLog.action == self.action)
        if self.outcome:
            query = query.where(AuditLog.outcome == self.outcome)
        if self.since:
            query = query.where(AuditLog.at >= datetime.combine(self.since, time(), UTC))
        if self.until:
            end = datetime.combine(self.until + timedelta(days=1), time(), UTC)
            query = query.where(AuditLog.at < end)
        return query


def search(*, session: Session, filters: AuditFilter, limit: int = 500) -> list[AuditLog]:
    """The newest `limit` rows matching the filters, newest first (the whole log is
    exported by `app.exports`, streamed, never as a list)."""
    query = filters.apply(select(AuditLog)).order_by(col(AuditLog.id).desc())
    return list(session.exec(query.limit(limit)))


def newest_id(*, session: Session) -> int | None:
    """Changes whenever an entry is written (the audit log is append-only)."""
    return session.exec(select(func.max(AuditLog.id))).one()


def count(*, session: Session, filters: AuditFilter) -> int:
    return session.exec(filters.apply(select(func.count()).select_from(AuditLog))).one()


def distinct_values(*, session: Session, column: str) -> list[str]:
    """Every value of `actor` or `action` seen, for the filter menus."""
    field = {"actor": AuditLog.actor, "action": AuditLog.action}[column]
    return list(session.exec(select(field).distinct().order_by(field)))
