"""The second step of sign-in: a TOTP or backup code (/login/2fa), or, for a user who has
no 2FA yet while the desk requires it, enrolment (/login/enrol: QR code, secret, a code
to prove it, then the 10 backup codes shown once).

Both routes only act on a pending sign-in (a correct password less than 5 minutes ago);
wrong codes count toward the same lockout as wrong passwords.
"""

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from botdesk.app import twofactor
from botdesk.app.auth import (
    LoginForm,
    complete_sign_in,
    count_failure,
    form_error,
    pending_sign_in,
    record_attempt,
    start_session,
)
from botdesk.app.context import desk_db, desk_settings
from botdesk.app.twofactor import CodeCheck
from botdesk.db import audit, lockout, users
from botdesk.db.models import User

blueprint = Blueprint("second_factor", __name__)


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32)])


@dataclass
class Outcome:
    """What one code attempt came to."""

    user: User | None = None  # signed in
    message: str | None = None
    status: int = 200
    restart: bool = False  # the pending sign-in is over: back to the password
    redirect_to: str | None = None
    backup_codes: list[str] | None = None


@blueprint.route("/login/2fa", methods=["GET", "POST"])
def code():
    pending = pending_sign_in()
    if pending is None:
        return redirect(url_for("auth.login"))
    if pending.get("enrol"):
        return redirect(url_for("second_factor.enrol"))
    form = CodeForm()
    if request.method == "GET":
        return render_template("code.html", form=form)
    if not form.validate_on_submit():
        flash(form_error(form, "Enter the 6-digit code from your authenticator app."), "error")
        return render_template("code.html", form=form), 400
    outcome = check_code(pending, form.code.data)
    return finish(outcome, pending, lambda: render_template("code.html", form=form))


@blueprint.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    pending = pending_sign_in()
    if pending is None:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    secret, outcome = enrolment_secret(pending)
    if outcome is not None:
        return finish(outcome, pending, None)

    def page():
        uri = twofactor.provisioning_uri(secret, pending["username"])
        return render_template(
            "enrol.html",
            form=form,
            qr=twofactor.qr_svg_data_uri(uri),
            secret=twofactor.readable_secret(secret),
            uri=uri,
        )

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        flash(form_error(form, "Enter the 6-digit code your app shows."), "error")
        return page(), 400
    return finish(confirm_enrolment(pending, form.code.data), pending, page)


def finish(outcome: Outcome, pending: dict, form_page):
    if outcome.restart:
        session.pop("pending", None)
        flash(outcome.message, "error")
        page = render_template("login.html", form=LoginForm(), next=pending["next"])
        return page, outcome.status
    if outcome.redirect_to:
        return redirect(outcome.redirect_to)
    if outcome.user is None:
        flash(outcome.message, "error")
        return form_page(), outcome.status
    start_session(outcome.user)
    if outcome.backup_codes:
        codes = outcome.backup_codes
        return render_template("backup_codes.html", codes=codes, next=pending["next"])
    return redirect(pending["next"])


def pending_user(db_session, pending: dict) -> tuple[User | None, Outcome | None]:
    """The pending user's row, locked; or why the pending sign-in cannot go on."""
    user = users.lock_row(session=db_session, user_id=pending["user_id"])
    if user is None or user.disabled or user.session_version != pending["ver"]:
        return None, Outcome(message="Sign in again.", status=401, restart=True)
    if until := lockout.locked_until(user):
        return None, Outcome(message=lockout.locked_message(until), status=403, restart=True)
    return user, None


def wrong_code(db_session, user: User, result: CodeCheck, kind: str) -> Outcome:
    replayed = result is CodeCheck.REPLAYED
    reason = f"{kind} already used" if replayed else f"wrong {kind}"
    record_attempt(db_session, user.username, user, "login.failed", reason)
    if count_failure(db_session, user):
        return Outcome(message=lockout.locked_message(user.locked_until), status=403, restart=True)
    if replayed:
        return Outcome(
            message="That code was already used. Wait for the next code in your app.", status=401
        )
    return Outcome(message="Wrong code. Check your authenticator app and try again.", status=401)


def check_code(pending: dict, code: str) -> Outcome:
    with desk_db().writing() as db_session:
        user, stop = pending_user(db_session, pending)
        if stop:
            return stop
        if not user.totp_enabled:
            return Outcome(redirect_to=url_for("second_factor.enrol"))
        result, kind = twofactor.check_second_factor(
            session=db_session, user=user, code=code, settings=desk_settings()
        )
        if result is not CodeCheck.OK:
            return wrong_code(db_session, user, result, kind)
        return Outcome(user=complete_sign_in(db_session, user.id, second_factor=kind))


def enrolment_secret(pending: dict) -> tuple[str | None, Outcome | None]:
    """The secret to enrol: the pending one stored at `botdesk init` or on a first visit."""
    with desk_db().writing() as db_session:
        user, stop = pending_user(db_session, pending)
        if stop:
            return None, stop
        if user.totp_enabled:
            return None, Outcome(redirect_to=url_for("second_factor.code"))
        secret = twofactor.secret_of(user, desk_settings())
        if secret is None:
            secret = twofactor.new_secret()
            twofactor.store_secret(user, secret, desk_settings())
            db_session.add(user)
        return secret, None


def confirm_enrolment(pending: dict, code: str) -> Outcome:
    settings = desk_settings()
    with desk_db().writing() as db_session:
        user, stop = pending_user(db_session, pending)
        if stop:
            return stop
        secret = twofactor.secret_of(user, settings)
        result, step = twofactor.check_totp_secret(secret, code, None)
        if result is not CodeCheck.OK:
            return wrong_code(db_session, user, result, "enrolment code")
        codes = twofactor.enable(
            session=db_session, user=user, secret=secret, step=step, settings=settings
        )
        audit.record(
            session=db_session,
            actor=user.username,
            user_id=user.id,
            action="2fa.enrol",
            target=f"user:{user.username}",
            ip=request.remote_addr,
            details={"at_sign_in": True},
        )
        signed_in = complete_sign_in(db_session, user.id, second_factor="enrolment")
        return Outcome(user=signed_in, backup_codes=codes)
