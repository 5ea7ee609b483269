"""Browser security headers on every response (Flask-Talisman).

The pages get a Content-Security-Policy that Dash runs under: scripts only from the desk
itself plus Dash's own inline scripts (the renderer's start and the clientside callbacks)
by their SHA-256, never a blanket 'unsafe-inline' or 'unsafe-eval' for scripts (Plotly's
charts draw without eval, as the browser tests show). Styles need 'unsafe-inline': Dash's
renderer and core components insert <style> elements as they run (without it Chromium
reports style-src-elem violations from both), and so do AG Grid and Plotly. Nothing may
frame the desk (clickjacking: frame-ancestors 'none' and X-Frame-Options: DENY). The
REST API, the webhook and the CSV exports are never rendered as pages: they get a policy
that allows nothing, and no caching. HSTS is sent with BOTDESK_SECURE_COOKIES=true on
requests that came over https (directly or through a proxy's X-Forwarded-Proto), as
browsers heed it only there.
"""

import dash
from flask import Response, request
from flask_talisman import Talisman

from botdesk.settings import Settings

MACHINE_PREFIXES = ("/api/", "/webhook/", "/export/")
NOTHING_TO_RENDER = {"default-src": "'none'", "frame-ancestors": "'none'"}


def page_policy(app: dash.Dash) -> dict[str, str | list[str]]:
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],  # the enrolment QR code is a data: URI
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def install(app: dash.Dash, settings: Settings) -> None:
    """After every page and callback exists; Dash adds one more inline script (its pages'
    title) at the first request, so the policy follows the scripts it is to allow."""
    server = app.server
    talisman = Talisman(
        server,
        content_security_policy=page_policy(app),
        force_https=False,  # TLS ends at the reverse proxy, when there is one
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
        strict_transport_security=settings.SECURE_COOKIES,
        strict_transport_security_include_subdomains=False,
        session_cookie_secure=settings.SECURE_COOKIES,
        session_cookie_samesite="Lax",
    )
    for endpoint, view in server.view_functions.items():
        if endpoint.split(".")[0] in ("api", "webhook", "exports"):
            view.talisman_view_options = {"content_security_policy": NOTHING_TO_RENDER}

    hashed = len(app._inline_scripts)

    @server.before_request
    def allow_every_inline_script_of_dash() -> None:
        nonlocal hashed
        if len(app._inline_scripts) != hashed:
            talisman.content_security_policy = page_policy(app)
            hashed = len(app._inline_scripts)

    @server.after_request
    def machine_answers_are_not_kept(response: Response) -> Response:
        """API answers and exports carry positions and fills: no cache keeps a copy."""
        if request.path.startswith(MACHINE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response
