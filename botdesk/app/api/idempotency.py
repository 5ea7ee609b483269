"""`Idempotency-Key` on every POST, PATCH and DELETE of the API.

A client that lost the answer to a committed request (a worker died mid-answer, a network
cut) sends it again with the same key and gets the first answer, status and body, with
`Idempotent-Replayed: true`: never a second order, command or key. Keys belong to the API
key that sent them (1 to 255 visible ASCII characters; a UUID is a good choice) and are
kept BOTDESK_IDEMPOTENCY_KEY_HOURS (the watchdog removes older ones): a retry after that
is a new request.

How: the key's row is inserted in the request's own writing transaction before the
handler acts, and the answer stored in it before it commits (`botdesk.db.idempotency`).
A twin sent while the first is in flight waits for the first to commit, then gets its
answer; if the first failed (an error answer is not stored, and it changed nothing) the
twin runs. The same key with another method, path or body is refused with a 422.
Handlers take their writing transaction from `writing()` so that it is this one.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Response, g, make_response, request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import read_body
from botdesk.app.context import desk_db, desk_settings
from botdesk.db import idempotency
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
METHODS = ("POST", "PATCH", "DELETE")
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_SESSION = "idempotent_session"
PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID): a retry with the same key gets the first "
    "answer instead of acting twice; the same key for another request is refused (422). "
    "Keys are kept BOTDESK_IDEMPOTENCY_KEY_HOURS (24 h by default): a retry after that "
    "is a new request and acts again.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


@contextmanager
def writing() -> Iterator[Session]:
    """The request's writing transaction: the one holding its idempotency key when it
    has one (committed with the answer), otherwise a transaction of its own."""
    session = g.get(_SESSION)
    if session is not None:
        yield session
        return
    with desk_db().writing() as session:
        yield session


def presented_key() -> str | None:
    presented = request.headers.get(HEADER)
    if presented is None:
        return None
    if not _KEY.match(presented):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"the {HEADER} header must be 1 to 255 visible ASCII characters (a UUID will do)",
        )
    return presented


class _Raced(Exception):
    """A twin request with the same key committed first."""


def answer(holder: KeyHolder, key: str, handle: Callable[[], object]) -> Response:
    """The handler's answer, once per key: run it, or replay what it answered before."""
    fingerprint = idempotency.fingerprint(request.method, request.path, read_body())
    try:
        return _once(holder, key, fingerprint, handle)
    except _Raced:  # the twin's answer is committed now: this finds it
        return _once(holder, key, fingerprint, handle)


def _once(holder: KeyHolder, key: str, fingerprint: str, handle) -> Response:
    settings = desk_settings()
    with desk_db().writing() as session:
        stored = idempotency.find(session=session, api_key_id=holder.key_id, key=key)
        if stored is not None:
            return _replay(stored, fingerprint, settings)
        try:
            row = idempotency.claim(
                session=session,
                api_key_id=holder.key_id,
                key=key,
                fingerprint=fingerprint,
                method=request.method,
                path=request.path,
            )
        except IntegrityError:
            raise _Raced from None
        g.setdefault(_SESSION, session)
        try:
            response = make_response(handle())
        finally:
            g.pop(_SESSION, None)
        idempotency.store(
            session=session,
            row=row,
            status=response.status_code,
            answer=response.get_data(as_text=True),
            location=response.headers.get("Location"),
            settings=settings,
        )
    return response


def _replay(stored: IdempotencyKey, fingerprint: str, settings) -> Response:
    if stored.fingerprint != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"this {HEADER} was first sent with another request ({stored.method} "
            f"{stored.path} with another body): use a new key for a new request",
        )
    response = Response(
        idempotency.answer_of(stored, settings), status=stored.status, mimetype="application/json"
    )
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers[REPLAYED] = "true"
    return response
