"""The login wall: every request but the login routes and static files needs a session.

Anonymous page requests are redirected to /login; anonymous requests to Dash's JSON
endpoints get 401. Signed-in requests to /_dash-update-component then pass the role gate.
"""

import time

import dash
from flask import flash, jsonify, redirect, request, session, url_for
from flask_login import current_user, logout_user

from botdesk.app.auth import session_expired
from botdesk.app.roles import gate_dash_callback

PUBLIC_PREFIXES = (
    "/login",
    "/logout",
    "/favicon.ico",
    "/assets/",
    "/_dash-component-suites/",
)
# Machine routes authenticate themselves (API keys, webhook tokens), never with a session.
MACHINE_PREFIXES = ("/api/", "/webhook/")
DASH_JSON_PREFIXES = ("/_dash", "/_reload-hash", "/_alive")


def _is_background_poll() -> bool:
    """A callback fired only by a dcc.Interval: it must not keep an idle session alive."""
    body = request.get_json(silent=True, cache=True) or {}
    changed = body.get("changedPropIds") or []
    return bool(changed) and all(str(prop).endswith(".n_intervals") for prop in changed)


def _refuse_anonymous(path: str, message: str | None = None):
    if path.startswith(DASH_JSON_PREFIXES):
        return jsonify(error={"code": "unauthenticated", "message": message or "sign in"}), 401
    if message:
        flash(message, "warning")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def install(app: dash.Dash) -> None:
    @app.server.before_request
    def wall():
        path = request.path
        if path.startswith(PUBLIC_PREFIXES) or path.startswith(MACHINE_PREFIXES):
            return None
        if not current_user.is_authenticated:
            return _refuse_anonymous(path)
        expired = session_expired()
        if expired:
            logout_user()
            session.clear()
            return _refuse_anonymous(path, expired)
        if path == "/_dash-update-component":
            if not _is_background_poll():
                session["seen_at"] = time.time()
            return gate_dash_callback(app)
        session["seen_at"] = time.time()
        return None
