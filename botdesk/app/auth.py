"""Login, logout and the session rules (flask-login on plain Flask routes, CSRF-protected).

A session carries the user's session_version: bumping it in the database (role change,
password change, admin revoke) ends every session of that user at its next request.
"""

import time
from dataclasses import dataclass
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

from botdesk.app.context import desk_db, desk_settings
from botdesk.app.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    verify_password,
)
from botdesk.db import audit, users
from botdesk.db.models import Role, User
from botdesk.db.types import utcnow

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None


@dataclass
class DeskUser(UserMixin):
    """The signed-in user as the desk sees it: a detached copy, never a live ORM row."""

    id: int
    username: str
    role: Role
    session_version: int

    def get_id(self) -> str:
        return str(self.id)

    def allows(self, needed: Role) -> bool:
        return self.role.allows(needed)

    @classmethod
    def of(cls, user: User) -> "DeskUser":
        return cls(user.id, user.username, Role(user.role), user.session_version)


@login_manager.user_loader
def _load_user(user_id: str) -> DeskUser | None:
    with desk_db().reading() as db_session:
        user = db_session.get(User, int(user_id))
    if user is None or user.disabled or session.get("ver") != user.session_version:
        return None
    return DeskUser.of(user)


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
    session.clear()
    session.permanent = True
    login_user(DeskUser.of(user))
    session["ver"] = user.session_version
    session["login_at"] = session["seen_at"] = time.time()


def safe_next(target: str | None) -> str:
    """Only a path on this site: never redirect a user to another host after login."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    next_path = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path)
    form = LoginForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                flash("The form expired or was not sent by this page. Try again.", "error")
            else:
                flash("Enter your username and password.", "error")
            return render_template("login.html", form=form, next=next_path), 400
        user = attempt_password_login(form.username.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(next_path)
        flash("Wrong username or password.", "error")
        return render_template("login.html", form=form, next=next_path), 401
    return render_template("login.html", form=form, next=next_path)


def attempt_password_login(username: str, password: str) -> User | None:
    """Verify the password; audit the attempt; rehash when argon2 parameters changed."""
    with desk_db().writing() as db_session:
        user = users.by_username(session=db_session, username=username)
        ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
        if user is None or not ok or user.disabled:
            audit.record(
                session=db_session,
                actor=username[:100] or "anonymous",
                user_id=user.id if user else None,
                action="login.failed",
                outcome="refused",
                reason="disabled account" if ok and user and user.disabled else "bad password",
                ip=client_ip(),
            )
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = utcnow()
        db_session.add(user)
        audit.record(
            session=db_session,
            actor=user.username,
            user_id=user.id,
            action="login.ok",
            ip=client_ip(),
        )
        return user


@blueprint.route("/logout", methods=["GET", "POST"])
def logout():
    if current_user.is_authenticated:
        with desk_db().writing() as db_session:
            audit.record(
                session=db_session,
                actor=current_user.username,
                user_id=current_user.id,
                action="logout",
                ip=client_ip(),
            )
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.route("/favicon.ico")
def favicon():
    return send_from_directory(current_app.config["BOTDESK_ASSETS"], "favicon.svg")
