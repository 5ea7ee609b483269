"""Users: lookups and changes shared by the CLI, the desk and the API."""

from sqlmodel import Session, func, select

from botdesk.db.models import Role, User

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class UserError(ValueError):
    """A user change that cannot be made, with a message for the operator."""


def validate_username(username: str) -> str:
    name = username.strip().lower()
    if not 3 <= len(name) <= 64 or not set(name) <= USERNAME_CHARS:
        raise UserError(
            "username must be 3 to 64 characters: lowercase letters, digits, '.', '_' or '-'"
        )
    return name


def validate_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}: choose viewer, trader or admin") from None


def by_username(*, session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


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


def set_role(*, session: Session, user: User, role: str) -> None:
    new_role = validate_role(role)
    if user.role == Role.ADMIN and new_role != Role.ADMIN and active_admins(session=session) <= 1:
        raise UserError("refused: this is the last active admin")
    user.role = new_role.value
    user.session_version += 1  # a role change takes effect on every open session now
    session.add(user)


def set_disabled(*, session: Session, user: User, disabled: bool) -> None:
    if disabled and user.role == Role.ADMIN and active_admins(session=session) <= 1:
        raise UserError("refused: this is the last active admin")
    user.disabled = disabled
    if disabled:
        user.session_version += 1
    session.add(user)
