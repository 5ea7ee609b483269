"""Sign-in with a password, sessions and sign-out (flask-login on plain Flask routes, CSRF).

A correct password does not open a session when the user has 2FA (or must enrol): it opens
a pending sign-in of 5 minutes that only /login/2fa and /login/enrol accept (see
second_factor.py). A session is a row on the server (db/desk_sessions.py) named by a
token in the signed cookie; every request needs the row open, so sign-out, a role or
password change, a 2FA reset or an admin's revoke ends the session for every copy of the
cookie at once.
"""

import re
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from botdesk.app import acting
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from botdesk.db import audit, desk_sessions, lockout, notification_events, notifications, users
from botdesk.db.models import Role, User
from botdesk.db.types import utcnow

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None

PENDING_SECONDS = 300  # from a correct password to the second factor
# One answer for every refused password, whether the name exists, the account is locked or
# disabled: the sign-in form must not tell an attacker which accounts are real (the lock
# itself is named at the code step, which only the password's owner reaches).
WRONG_CREDENTIALS = (
    f"Wrong username or password, or the account is locked: {lockout.MAX_FAILED_ATTEMPTS} "
    f"wrong attempts in a row lock it for {lockout.LOCKOUT_MINUTES} minutes."
)


@dataclass
class DeskUser(UserMixin):
    """The signed-in user as the desk sees it: a detached copy, never a live ORM row."""

    id: int
    username: str
    role: Role
    session_version: int  # a pending sign-in started from this session carries it
    totp_enabled: bool = False
    session_id: int | None = None  # the desk_session row of this request
    seen_at: datetime | None = None  # its last_seen_at

    def get_id(self) -> str:
        return str(self.id)

    def allows(self, needed: Role) -> bool:
        return self.role.allows(needed)

    @classmethod
    def of(cls, user: User) -> "DeskUser":
        return cls(user.id, user.username, Role(user.role), user.session_version, user.totp_enabled)

    @classmethod
    def of_session(cls, found: desk_sessions.OpenSession) -> "DeskUser":
        return cls(
            found.user_id,
            found.username,
            Role(found.role),
            found.session_version,
            found.totp_enabled,
            found.session_id,
            found.last_seen_at,
        )


@login_manager.user_loader
def _load_user(user_id: str) -> DeskUser | None:
    """The cookie's user while its session row is open: one indexed read per request."""
    token = session.get("sid")
    if not token:
        return None
    with desk_db().reading_rows() as connection:
        found = desk_sessions.open_session(connection=connection, token=token)
    if found is None or str(found.user_id) != user_id or found.disabled:
        return None
    return DeskUser.of_session(found)


def client_ip() -> str | None:
    return request.remote_addr


def session_expired() -> str | None:
    """Why the current session must end (idle or too old), or None while it is valid."""
    settings = desk_settings()
    now = time.time()
    if now - session.get("seen_at", 0) > settings.SESSION_IDLE_MINUTES * 60:
        return "Your session ended after a period of inactivity. Sign in again."
    if now - session.get("login_at", 0) > settings.SESSION_LIFETIME_HOURS * 3600:
        return "Your session reached its maximum lifetime. Sign in again."
    return None


def start_session(user: User) -> None:
    """Open the user's desk session: a row on the server, its token in the cookie."""
    with desk_db().writing() as db_session:
        token = desk_sessions.start(
            session=db_session,
            user_id=user.id,
            ip=client_ip(),
            user_agent=request.headers.get("User-Agent"),
        )
    session.clear()
    session.permanent = True
    login_user(DeskUser.of(user))
    session["sid"] = token
    session["login_at"] = session["seen_at"] = time.time()


def end_session(reason: str) -> None:
    """End this browser's desk session on the server and forget the cookie's contents."""
    token = session.get("sid")
    if token:
        with desk_db().writing() as db_session:
            desk_sessions.end(session=db_session, token=token, reason=reason)
    logout_user()
    session.clear()


# The idle clock restarts at most this often: the cookie is signed and sent again only
# then, not on every request (idle limits are minutes; it may end a session this much early)
SEEN_COOKIE_SECONDS = 30


def note_activity() -> None:
    """A click or a page: the idle clock restarts; the row's last_seen_at once a minute."""
    now = time.time()
    if now - session.get("seen_at", 0) >= SEEN_COOKIE_SECONDS:
        session["seen_at"] = now
    seen_at = current_user.seen_at
    if current_user.session_id and (seen_at is None or desk_sessions.seen_due(seen_at)):
        with desk_db().writing() as db_session:
            desk_sessions.mark_seen(session=db_session, session_id=current_user.session_id)


def begin_pending(user: User | DeskUser, next_path: str = "/") -> None:
    """The state between a correct password and the second factor (or enrolment)."""
    session.clear()
    session["pending"] = {
        "user_id": user.id,
        "username": user.username,
        "ver": user.session_version,
        "at": time.time(),
        "next": safe_next(next_path),
        "enrol": not user.totp_enabled,  # no 2FA yet: the second step is enrolment
    }


def second_step_url(pending: dict) -> str:
    return url_for("second_factor.enrol" if pending.get("enrol") else "second_factor.code")


def pending_sign_in() -> dict | None:
    """The pending sign-in of this browser, or None (after flashing why) when it is over."""
    pending = session.get("pending")
    if not pending:
        return None
    if time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop("pending", None)
        flash("The sign-in took longer than 5 minutes. Enter your password again.", "warning")
        return None
    return pending


MAX_NEXT = 2048
# A control character would break the Location header; a backslash is read by browsers as
# a slash ("/\evil.example" goes to another host).
_NOT_IN_A_PATH = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None) -> str:
    """A path on this site to go to after sign-in, or "/": never another host, never a
    header-breaking character, whatever a link put in `?next=`."""
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT:
        return "/"
    if _NOT_IN_A_PATH.search(target) or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def form_error(form: FlaskForm, missing: str) -> str:
    if form.csrf_token.errors:
        return "The form expired or was not sent by this page. Try again."
    return missing


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    next_path = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path)
    form = LoginForm()
    if request.method == "GET":
        return render_template("login.html", form=form, next=next_path)
    if not form.validate_on_submit():
        flash(form_error(form, "Enter your username and password."), "error")
        return render_template("login.html", form=form, next=next_path), 400
    user, refusal, status = check_password(form.username.data, form.password.data)
    if user is None:
        flash(refusal, "error")
        return render_template("login.html", form=form, next=next_path), status
    if user.totp_enabled or desk_settings().REQUIRE_2FA:
        begin_pending(user, next_path)
        return redirect(second_step_url(session["pending"]))
    with desk_db().writing() as db_session:
        user = complete_sign_in(db_session, user.id, second_factor=None)
    start_session(user)
    return redirect(next_path)


def check_password(username: str, password: str) -> tuple[User | None, str | None, int]:
    """Verify the password, counting failures toward the lockout; rehash when argon2's
    parameters changed. Returns the user, or None with the message and HTTP status: the
    same for an unknown name, a wrong password, a locked or a disabled account."""
    with desk_db().writing() as db_session:
        user = users.by_username(session=db_session, username=username, for_update=True)
        # Always one argon2 verification, so a refusal takes as long for every name.
        ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
        if user is not None and lockout.locked_until(user):
            record_attempt(db_session, user.username, user, "login.locked", "attempt while locked")
            return None, WRONG_CREDENTIALS, 401
        if user is None or not ok or user.disabled:
            reason = "disabled account" if ok and user and user.disabled else "bad password"
            record_attempt(db_session, username, user, "login.failed", reason)
            if user is not None and not user.disabled:
                count_failure(db_session, user)
            return None, WRONG_CREDENTIALS, 401
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            db_session.add(user)
        return user, None, 200


def record_attempt(db_session, actor: str, user: User | None, action: str, reason: str) -> None:
    audit.record(
        session=db_session,
        actor=(actor or "anonymous")[:100],
        user_id=user.id if user else None,
        action=action,
        outcome="refused",
        reason=reason,
        ip=client_ip(),
    )


def count_failure(db_session, user: User) -> bool:
    """One more wrong password or code; True (and audited) when it locked the account."""
    if not lockout.record_failure(session=db_session, user=user):
        return False
    record_attempt(
        db_session,
        user.username,
        user,
        "login.locked",
        f"{lockout.MAX_FAILED_ATTEMPTS} wrong passwords or codes in a row; "
        f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC",
    )
    notifications.emit(
        db_session,
        notification_events.security_lockout(user=user, until=user.locked_until, ip=client_ip()),
    )
    return True


def complete_sign_in(db_session, user_id: int, *, second_factor: str | None) -> User:
    """The sign-in succeeded: reset the failure count, stamp and audit it."""
    user = users.lock_row(session=db_session, user_id=user_id)
    lockout.clear_failures(session=db_session, user=user)
    user.last_login_at = utcnow()
    db_session.add(user)
    ip = client_ip()
    if ip and audit.new_address(session=db_session, user_id=user.id, ip=ip):
        notifications.emit(
            db_session,
            notification_events.security_new_address(
                username=user.username, ip=ip, at=user.last_login_at
            ),
        )
    audit.record(
        session=db_session,
        actor=user.username,
        user_id=user.id,
        action="login.ok",
        ip=client_ip(),
        details={"second_factor": second_factor},
    )
    return user


class LogoutForm(FlaskForm):
    """Only its CSRF token: a sign-out must come from the desk's own page."""


@blueprint.route("/logout", methods=["GET", "POST"])
def logout():
    """GET asks (a link on another site must not sign anyone out); POST with the page's
    CSRF token signs out."""
    form = LogoutForm()
    if not current_user.is_authenticated:
        session.clear()
        return redirect(url_for("auth.login"))
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("logout.html", form=form)
    with desk_db().writing() as db_session:
        acting.record(db_session, "logout")
    end_session("signed out")
    return redirect(url_for("auth.login"))


@blueprint.route("/favicon.ico")
def favicon():
    return send_from_directory(current_app.config["BOTDESK_ASSETS"], "favicon.svg")
