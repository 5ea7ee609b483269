"""Who is calling: the `X-API-Key` header, checked against the key's scope on every request.

Refusals (no key, a bad, revoked or expired key, a disabled owner, a request from outside
the key's IP allow-list, too small a scope) are audited. Every request made with a
write-scoped key (trade or admin) is audited too, with its outcome, whatever it asked for.
The address is the one the desk's server sees (behind a reverse proxy: the proxy's).
"""

import logging
import re

from flask import Response, g, request

from botdesk.app.api.errors import ApiError
from botdesk.app.context import desk_db
from botdesk.db import api_keys, audit
from botdesk.db.api_keys import ApiKeyRefused, KeyHolder
from botdesk.db.models import Scope

log = logging.getLogger(__name__)

HEADER = "X-API-Key"
KEY_PARAMETER = re.compile(r"(?i)api[_-]?key|key")
WRITE_SCOPES = (Scope.TRADE, Scope.ADMIN)


def _target() -> str:
    return f"{request.method} {request.path}"[:255]


def _refuse(*, actor: str, user_id: int | None, reason: str, status: int, code: str):
    with desk_db().writing() as session:
        audit.record(
            session=session,
            actor=actor,
            user_id=user_id,
            action="api.refused",
            target=_target(),
            outcome="refused",
            reason=reason,
            ip=request.remote_addr,
        )
    log.warning("API refused %s to %s: %s", _target(), actor, reason)
    raise ApiError(status, code, reason)


def _key_in_url() -> str | None:
    """The query parameter a client put an API key in, if any."""
    return next((name for name in request.args if KEY_PARAMETER.fullmatch(name)), None)


def require(scope: Scope) -> KeyHolder:
    """The caller's key if it may act at `scope`; otherwise an audited 401 or 403."""
    if parameter := _key_in_url():
        _refuse(
            actor="anonymous",
            user_id=None,
            reason=f"an API key in the URL ({parameter}=) is refused: URLs end up in logs "
            f"and histories; send it in the {HEADER} header",
            status=401,
            code="unauthenticated",
        )
    presented = request.headers.get(HEADER, "")
    if not presented.strip():
        _refuse(
            actor="anonymous",
            user_id=None,
            reason=f"send an API key in the {HEADER} header",
            status=401,
            code="unauthenticated",
        )
    try:
        with desk_db().reading() as session:
            holder = api_keys.authenticate(session=session, presented=presented)
    except ApiKeyRefused as refused:
        actor = f"api:{refused.prefix}" if refused.prefix else "anonymous"
        _refuse(
            actor=actor, user_id=None, reason=refused.reason, status=401, code="unauthenticated"
        )
    if not holder.allows_address(request.remote_addr):
        _refuse(
            actor=holder.actor,
            user_id=holder.user_id,
            reason=f"this API key is not allowed from {request.remote_addr}",
            status=403,
            code="ip_not_allowed",
        )
    g.api_key = holder
    if not holder.allows(scope):
        article = "an" if scope == Scope.ADMIN else "a"
        why = (
            f"this needs {article} {scope.value}-scoped key; "
            f"this key acts at {holder.effective.value}"
        )
        if holder.effective != holder.scope:
            why += f" (its owner {holder.username} is now {holder.role.value})"
        _refuse(
            actor=holder.actor, user_id=holder.user_id, reason=why, status=403, code="forbidden"
        )
    return holder


def record_use(response: Response) -> Response:
    """After a request made with a key: last_used_at, and the audit row for write scopes."""
    holder: KeyHolder | None = g.pop("api_key", None)
    if holder is None:
        return response
    writes = holder.scope in WRITE_SCOPES
    if not writes and not api_keys.use_mark_due(holder.last_used_at):
        return response
    status = response.status_code
    with desk_db().writing() as session:
        api_keys.mark_used(session=session, key_id=holder.key_id)
        if writes:
            audit.record(
                session=session,
                actor=holder.actor,
                user_id=holder.user_id,
                action="api.request",
                target=_target(),
                outcome="ok" if status < 400 else "refused" if status < 500 else "failed",
                ip=request.remote_addr,
                details={"status": status, "owner": holder.username, "scope": holder.scope},
            )
    return response
