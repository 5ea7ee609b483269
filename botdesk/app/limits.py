"""Rate limits (Flask-Limiter): sign-in per IP address and per username; refused API
keys and unknown webhook tokens per IP address.

Password and code attempts share both budgets, so a client cannot buy more guesses by
alternating forms. Counts live in BOTDESK_RATELIMIT_STORAGE_URI: the default memory://
counts in each gunicorn worker (N workers allow up to N times the limit); redis:// or
memcached:// share it. Either way the durable protection is the lockout in the database
(botdesk.db.lockout), which every worker and machine sees.
"""

import logging
import math
import time

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    render_template,
    request,
    session,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from botdesk.settings import Settings

log = logging.getLogger(__name__)

SIGN_IN_ENDPOINTS = ("auth.login", "second_factor.code", "second_factor.enrol")
TOO_MANY = "Too many sign-in attempts. Wait a minute, then try again."
# The answers that mean "that key or token is not one of ours": what a guesser gets.
GUESS_CODES = ("unauthenticated", "unknown_token")


def retry_after() -> str:
    """Seconds until the limit this request broke lets requests through again (its window
    resets), for the Retry-After header of a 429; at least 1."""
    resets = [
        limit.reset_at
        for limiter in current_app.extensions.get("limiter", ())
        if (limit := limiter.current_limit) is not None and limit.breached
    ]
    wait = max(resets) - time.time() if resets else 60
    return str(max(1, math.ceil(wait)))


def sign_in_username() -> str:
    """Whose account the attempt is for: the form's username, or the pending sign-in's."""
    pending = session.get("pending") or {}
    name = request.form.get("username") or pending.get("username") or ""
    return "user:" + name.strip().lower()[:64]


def install(server: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        key_func=get_remote_address,
        app=server,
        storage_uri=settings.RATELIMIT_STORAGE_URI,
        strategy="fixed-window",
    )
    per_ip = limiter.shared_limit(
        settings.LOGIN_RATE_LIMIT_IP, scope="sign-in-ip", methods=["POST"]
    )
    per_user = limiter.shared_limit(
        settings.LOGIN_RATE_LIMIT_USER,
        scope="sign-in-user",
        key_func=sign_in_username,
        methods=["POST"],
    )
    for endpoint in SIGN_IN_ENDPOINTS:
        server.view_functions[endpoint] = per_ip(per_user(server.view_functions[endpoint]))

    @server.errorhandler(429)
    def too_many_attempts(_error):
        log.warning("sign-in rate limit reached from %s (%s)", request.remote_addr, request.path)
        flash(TOO_MANY, "error")
        page = render_template("message.html", title="Slow down")
        return page, 429, {"Retry-After": retry_after()}

    return limiter


def _refused_credential(response: Response) -> bool:
    body = response.get_json(silent=True) if response.is_json else None
    return bool(body) and body.get("error", {}).get("code") in GUESS_CODES


def limit_key_guessing(limiter: Limiter, settings: Settings, *blueprints: Blueprint) -> None:
    """Count refused keys and unknown tokens per IP across the API and the webhook; past
    the limit every request from that address gets the API's JSON 429."""
    guessing = limiter.shared_limit(
        settings.KEY_GUESS_RATE_LIMIT,
        scope="key-guess",
        deduct_when=_refused_credential,
    )
    for blueprint in blueprints:
        guessing(blueprint)
