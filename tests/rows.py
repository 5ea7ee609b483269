"""Reading rows back in tests: a user by name, the audit trail of an actor."""

from sqlmodel import col, select

from botdesk.db.models import AuditLog, User
from botdesk.db.session import Database


def user_named(db: Database, username: str) -> User | None:
    with db.reading() as session:
        return session.exec(select(User).where(User.username == username)).first()


def audit_trail(db: Database, actor: str | None = None, action: str | None = None):
    """Audit rows, oldest first, of one actor and/or one action."""
    query = select(AuditLog).order_by(col(AuditLog.id))
    if actor is not None:
        query = query.where(AuditLog.actor == actor)
    if action is not None:
        query = query.where(AuditLog.action == action)
    with db.reading() as session:
        return list(session.exec(query))
