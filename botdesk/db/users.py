"""Users: lookups and changes shared by the CLI, the desk and the API."""

from sqlmodel import Session, delete, func, select

from botdesk.db import desk_sessions, notification_events, notifications, typed
from botdesk.db.models import BackupCode, Role, User
from botdesk.db.types import utcnow

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
MAX_USERNAME = 64


class UserError(ValueError):
    """A user change that cannot be made, with a message for the operator."""


def validate_username(username: str) -> str:
    name = typed.text(
        username, field="username", most=MAX_USERNAME, refuse=UserError, required=False
    ).lower()
    if len(name) < 3 or not set(name) <= USERNAME_CHARS:
        raise UserError(
            f"username must be 3 to {MAX_USERNAME} characters: lowercase letters, digits, "
            "'.', '_' or '-'"
        )
    return name


def validate_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}: choose viewer, trader or admin") from None


def by_username(*, session: Session, username: str, for_update: bool = False) -> User | None:
    """The user, or None; `for_update` locks the row until the transaction ends (PostgreSQL;
    SQLite serializes writers), so counters such as failed_attempts cannot race."""
    query = select(User).where(User.username == username.strip().lower())
    return session.exec(query.with_for_update() if for_update else query).first()


def require(*, session: Session, username: str) -> User:
    user = by_username(session=session, username=username)
    if user is None:
        raise UserError(f"no user named {username!r}")
    return user


def count(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def all_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))


def create(*, session: Session, username: str, password_hash: str, role: str) -> User:
    name = validate_username(username)
    if by_username(session=session, username=name) is not None:
        raise UserError(f"a user named {name!r} already exists")
    user = User(username=name, password_hash=password_hash, role=validate_role(role).value)
    session.add(user)
    session.flush()
    return user


def active_admins(*, session: Session) -> int:
    query = select(func.count()).where(User.role == Role.ADMIN, User.disabled.is_(False))
    return session.exec(query).one()


def set_role(*, session: Session, user: User, role: str, by: str = "unknown") -> None:
    new_role = validate_role(role)
    if user.role == Role.ADMIN and new_role != Role.ADMIN and active_admins(session=session) <= 1:
        raise UserError("refused: this is the last active admin")
    old_role = str(user.role)
    user.role = new_role.value
    if old_role != new_role.value:
        notifications.emit(
            session,
            notification_events.security_role_changed(
                username=user.username, old=old_role, new=new_role.value, by=by, at=utcnow()
            ),
        )
    revoke_sessions(session=session, user=user, reason="role changed")


def set_disabled(*, session: Session, user: User, disabled: bool) -> None:
    if disabled and user.role == Role.ADMIN and active_admins(session=session) <= 1:
        raise UserError("refused: this is the last active admin")
    user.disabled = disabled
    session.add(user)
    if disabled:
        revoke_sessions(session=session, user=user, reason="user disabled")


def lock_row(*, session: Session, user_id: int) -> User | None:
    """The user's row, locked until the transaction ends (see by_username)."""
    return session.exec(select(User).where(User.id == user_id).with_for_update()).first()


def revoke_sessions(
    *,
    session: Session,
    user: User,
    reason: str = "signed out everywhere",
    keep: int | None = None,
) -> None:
    """End every desk session of the user but `keep` (the desk session asking, by id), and
    any sign-in waiting for its second factor."""
    desk_sessions.end_all(session=session, user_id=user.id, reason=reason, keep=keep)
    user.session_version += 1  # pending sign-ins carry it
    session.add(user)


def set_password_hash(
    *, session: Session, user: User, password_hash: str, keep: int | None = None
) -> None:
    """A new password ends the user's sessions but `keep` (the one that changed it)."""
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    revoke_sessions(session=session, user=user, reason="password changed", keep=keep)


def clear_two_factor(*, session: Session, user: User) -> None:
    """Forget the TOTP secret (enrolled or pending) and the backup codes."""
    user.totp_enabled = False
    user.totp_secret_encrypted = None
    user.totp_last_step = None
    session.add(user)
    session.exec(delete(BackupCode).where(BackupCode.user_id == user.id))


def reset_two_factor(*, session: Session, user: User) -> None:
    """An admin's reset: no 2FA and no session left; the user enrols again at next sign-in."""
    clear_two_factor(session=session, user=user)
    revoke_sessions(session=session, user=user, reason="two-factor reset")
