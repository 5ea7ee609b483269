"""Roles, enforced on the server. The one place every Dash callback passes through.

- `guarded_callback(role=...)` registers a Dash callback with the least role allowed to
  run it and wraps it with a check (the second line of defence).
- `gate_dash_callback()` runs before Dash on every POST to /_dash-update-component: it maps
  the request's outputs to the registered callback and refuses a user below its role, or a
  callback nobody registered through here. Any logged-in client can POST any callback with
  any inputs, so hidden buttons and unlisted pages protect nothing; this does.
- `page_role()` hides admin-only pages: not listed for others, and opened by them they
  say "Not allowed".
"""

import functools
import logging

import dash
from dash.exceptions import PreventUpdate
from flask import jsonify, request
from flask_login import current_user

from botdesk.app.components import not_allowed
from botdesk.app.context import desk_db
from botdesk.db import audit
from botdesk.db.models import Role

log = logging.getLogger(__name__)


class AccessRefused(PermissionError):
    """The signed-in user's role does not allow this action."""


def refuse(action: str, needed: Role, *, target: str | None = None) -> None:
    """Audit a refusal by the current user (or anonymous)."""
    authenticated = current_user.is_authenticated
    with desk_db().writing() as session:
        audit.record(
            session=session,
            actor=current_user.username if authenticated else "anonymous",
            user_id=current_user.id if authenticated else None,
            action="access.refused",
            target=target or action,
            outcome="refused",
            reason=f"needs role {needed.value}, has "
            f"{current_user.role.value if authenticated else 'no session'}",
            ip=request.remote_addr,
        )
    log.warning("refused %s to %s", action, current_user.username if authenticated else "?")


def require_role(needed: Role, action: str) -> None:
    """Raise AccessRefused (after auditing it) unless the current user has `needed`."""
    if not (current_user.is_authenticated and current_user.allows(needed)):
        refuse(action, needed)
        raise AccessRefused(f"{action} needs the {needed.value} role")


def guarded_callback(*args, role: Role = Role.VIEWER, **kwargs):
    """`dash.callback` plus the least role allowed to run it, checked again inside."""

    def decorate(func):
        @functools.wraps(func)
        def guarded(*call_args, **call_kwargs):
            try:
                require_role(role, f"callback {func.__module__}.{func.__name__}")
            except AccessRefused:
                raise PreventUpdate from None
            return func(*call_args, **call_kwargs)

        guarded.required_role = role
        return dash.callback(*args, **kwargs)(guarded)

    return decorate


def _role_of_callback(entry: dict) -> Role | None:
    callback = entry.get("callback")
    role = getattr(callback, "required_role", None)
    if role is not None:
        return Role(role)
    if (getattr(callback, "__module__", "") or "").startswith("dash."):
        return Role.VIEWER  # Dash's own page router; each page's layout checks its role
    return None


def gate_dash_callback(app: dash.Dash):
    """Flask before_request check for /_dash-update-component; None lets Dash proceed."""
    body = request.get_json(silent=True, cache=True) or {}
    output = body.get("output")
    entry = app.callback_map.get(output) if isinstance(output, str) else None
    needed = _role_of_callback(entry) if entry else None
    if needed is None:
        refuse("unregistered callback", Role.ADMIN, target=f"callback {str(output)[:200]}")
        return jsonify(error={"code": "forbidden", "message": "unknown callback"}), 403
    if not current_user.allows(needed):
        refuse("callback", needed, target=f"callback {output[:200]}")
        return jsonify(
            error={"code": "forbidden", "message": f"this action needs the {needed} role"}
        ), 403
    return None


def page_role(module: str) -> Role:
    page = next((p for p in dash.page_registry.values() if p["module"] == module), None)
    return Role((page or {}).get("role", Role.VIEWER))


def pages_for(user) -> list[dict]:
    """Pages this user may open, in menu order (admin-only pages are not listed)."""
    return [
        page
        for page in dash.page_registry.values()
        if not page.get("hidden") and user.allows(Role(page.get("role", Role.VIEWER)))
    ]


def restricted_layout(role: Role):
    """Decorate a page's layout: below `role`, render 'not allowed' and audit the attempt."""

    def decorate(layout):
        @functools.wraps(layout)
        def checked(**kwargs):
            if not (current_user.is_authenticated and current_user.allows(role)):
                refuse(f"page {layout.__module__}", role)
                return not_allowed(role.value)
            return layout(**kwargs)

        return checked

    return decorate
