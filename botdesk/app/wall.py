"""The login wall: every request but the sign-in routes and static files needs a session.

Anonymous page requests are redirected to /login (or back to the code form while a
sign-in is pending); anonymous requests to Dash's JSON endpoints get 401. A user without
2FA on a desk that requires it is sent to enrolment before any page. Signed-in requests
to /_dash-update-component then pass the role gate. Dash callbacks are JSON POSTs: with
SameSite=Lax cookies and the Origin check below, another site cannot make them.
"""

from urllib.parse import urlsplit

import dash
from flask import Response, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from botdesk.app.auth import (
    begin_pending,
    end_session,
    note_activity,
    pending_sign_in,
    second_step_url,
    session_expired,
)
from botdesk.app.context import desk_settings
from botdesk.app.roles import gate_dash_callback

PUBLIC_PREFIXES = (
    "/login",
    "/logout",
    "/favicon.ico",
    "/assets/",
    "/_dash-component-suites/",
)
# Machine routes authenticate themselves (API keys, webhook tokens), never with a session.
# /metrics: a bearer token or loopback only (app/metrics.py).
MACHINE_PREFIXES = ("/api/", "/webhook/", "/metrics")
DASH_JSON_PREFIXES = ("/_dash", "/_reload-hash", "/_alive")
DOWNLOAD_PREFIXES = ("/export/",)


def _is_background_poll() -> bool:
    """A callback fired only by a dcc.Interval: it must not keep an idle session alive."""
    body = request.get_json(silent=True, cache=True) or {}
    changed = body.get("changedPropIds") or []
    return bool(changed) and all(str(prop).endswith(".n_intervals") for prop in changed)


def _too_deep() -> bool:
    """A JSON body nested past what Python's parser follows (a RecursionError there)."""
    if not request.is_json:
        return False
    try:
        request.get_json(silent=True, cache=True)
    except RecursionError:
        return True
    return False


def _cross_site() -> bool:
    """A state-changing request sent by a page of another site (the browser says so)."""
    origin = request.headers.get("Origin")
    return request.method == "POST" and bool(origin) and urlsplit(origin).netloc != request.host


def _next_path() -> str:
    return request.full_path.rstrip("?")


def _refuse_anonymous(path: str, message: str | None = None):
    if path.startswith(DASH_JSON_PREFIXES):
        return jsonify(error={"code": "unauthenticated", "message": message or "sign in"}), 401
    if path.startswith(DOWNLOAD_PREFIXES):  # a program or a download: no login page
        return Response(f"{message or 'Sign in to the desk first.'}\n", 401, mimetype="text/plain")
    if message:
        flash(message, "warning")
    if pending := pending_sign_in():
        return redirect(second_step_url(pending))
    return redirect(url_for("auth.login", next=_next_path()))


def _send_to_enrolment(path: str):
    if path.startswith(DASH_JSON_PREFIXES):
        message = "set up two-factor sign-in first"
        return jsonify(error={"code": "enrolment_required", "message": message}), 401
    user = current_user._get_current_object()
    end_session("two-factor enrolment required")
    begin_pending(user, _next_path())
    return redirect(url_for("second_factor.enrol"))


def install(app: dash.Dash) -> None:
    @app.server.before_request
    def wall():
        path = request.path
        if path.startswith(PUBLIC_PREFIXES) or path.startswith(MACHINE_PREFIXES):
            return None
        if _too_deep():
            message = "the request body is nested too deeply"
            return jsonify(error={"code": "bad_request", "message": message}), 400
        if _cross_site():
            return jsonify(error={"code": "forbidden", "message": "cross-site request"}), 403
        if not current_user.is_authenticated:
            return _refuse_anonymous(path)
        expired = session_expired()
        if expired:
            end_session(expired)
            return _refuse_anonymous(path, expired)
        if desk_settings().REQUIRE_2FA and not current_user.totp_enabled:
            return _send_to_enrolment(path)
        if path == "/_dash-update-component":
            if not _is_background_poll():
                note_activity()
            return gate_dash_callback(app)
        note_activity()
        return None
