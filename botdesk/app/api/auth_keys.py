"""API keys over the API: create (shown once), list, read, revoke, and the calling key.

A key manages the keys of its own owner, and only those of at most its own scope (a read
key creates and revokes read keys); an admin-scoped key manages everyone's. The owner's
role still caps what a key may be created at, and the lifetime is 1 to 3650 days or
unlimited (`db.api_keys`, the one rule the desk and the CLI use too). Every change is
audited as `api:<prefix of the calling key>`.
"""

from decimal import Decimal
from typing import Annotated, Literal

from flask import jsonify, request
from pydantic import BeforeValidator, Field, StrictInt, StrictStr, WithJsonSchema
from sqlmodel import Session, col, select

from botdesk.app.api.analysis_schemas import TIME_OR_NULL, array, obj
from botdesk.app.api.errors import ApiError
from botdesk.app.api.idempotency import writing
from botdesk.app.api.inputs import MAX_PAGE, Body, Query
from botdesk.app.api.routing import ID, operation
from botdesk.app.context import desk_db
from botdesk.db import api_keys, listing, users
from botdesk.db.api_keys import (
    MAX_ALLOWED_NETWORKS,
    MAX_EXPIRES_DAYS,
    MIN_EXPIRES_DAYS,
    ApiKeyError,
    KeyHolder,
    scope_rank,
)
from botdesk.db.models import ApiKey, Scope, User
from botdesk.db.types import utcnow
from botdesk.db.users import UserError

SCOPES = Literal["read", "trade", "admin"]
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# What an allow-list entry may be, as the description tells a client: an IPv4 or IPv6
# address, or an IPv4 network in CIDR form (IPv6 networks are accepted too; a regular
# expression for them would say less than "an IPv6 network").
NETWORK_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "ipv4"},
        {"type": "string", "format": "ipv6"},
        {"type": "string", "pattern": rf"^{_OCTET}(\.{_OCTET}){{3}}/(3[0-2]|[12]?[0-9])$"},
    ],
    "description": "An IP address or a CIDR network, e.g. 203.0.113.7, 10.0.0.0/8, 2001:db8::/32",
}
KEY = obj(
    {
        "id": {"type": "integer"},
        "prefix": {"type": "string"},
        "name": {"type": "string"},
        "owner": {"type": "string"},
        "scope": {"enum": ["read", "trade", "admin"]},
        "state": {"enum": ["active", "expired", "revoked"]},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": TIME_OR_NULL,
        "last_used_at": TIME_OR_NULL,
        "revoked_at": TIME_OR_NULL,
        "allowed_ips": {"type": ["array", "null"], "items": {"type": "string"}},
    }
)


def whole_number(value):
    """A JSON number without a fraction (30.0) as the integer it is; anything else as sent
    (true, "30" and 30.5 are then refused)."""
    if isinstance(value, Decimal | float) and value == int(value):
        return int(value)
    return value


def key_json(key: ApiKey, owner: str) -> dict:
    def when(moment):
        return None if moment is None else moment.isoformat()

    return {
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "owner": owner,
        "scope": key.scope,
        "state": api_keys.state(key),
        "created_at": key.created_at.isoformat(),
        "expires_at": when(key.expires_at),
        "last_used_at": when(key.last_used_at),
        "revoked_at": when(key.revoked_at),
        "allowed_ips": key.allowed_ips.split(",") if key.allowed_ips else None,
    }


def _is_admin(holder: KeyHolder) -> bool:
    return holder.effective == Scope.ADMIN


def _may_touch(holder: KeyHolder, scope: str, owner_id: int) -> None:
    """403 unless the calling key may manage a key of `scope` owned by `owner_id`."""
    if owner_id != holder.user_id and not _is_admin(holder):
        raise ApiError(403, "forbidden", "only an admin-scoped key manages other users' keys")
    if scope_rank(scope) > scope_rank(holder.effective):
        raise ApiError(
            403,
            "forbidden",
            f"a {holder.effective.value}-scoped key manages keys of at most its own scope, "
            f"not {scope}",
        )


class NewKey(Body):
    scope: SCOPES
    name: Annotated[StrictStr, Field(min_length=1, max_length=api_keys.MAX_NAME)] | None = None
    expires_days: (
        Annotated[
            StrictInt,
            Field(ge=MIN_EXPIRES_DAYS, le=MAX_EXPIRES_DAYS),
            BeforeValidator(whole_number),
        ]
        | None
    ) = None
    owner: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    allowed_ips: (
        Annotated[
            list[
                Annotated[
                    StrictStr, Field(min_length=1, max_length=64), WithJsonSchema(NETWORK_SCHEMA)
                ]
            ],
            Field(max_length=MAX_ALLOWED_NETWORKS),
        ]
        | None
    ) = None


@operation(
    "POST",
    "/auth/keys",
    summary="Create an API key (the key is in the answer, once)",
    tag="auth",
    scope=Scope.READ,
    body=NewKey,
    status=201,
    response=obj({"key": {"type": "string"}, "api_key": KEY}),
    errors=(400, 403, 404),
    description="For the calling key's owner, or for `owner` with an admin-scoped key; "
    "`scope` at most the calling key's and the owner's role; `expires_days` 1 to 3650 "
    "(default: never); `allowed_ips`: addresses or CIDR networks the key is accepted from "
    "(default: any). botdesk keeps only the key's hash: store the key now.",
)
def create_key(holder: KeyHolder, body: NewKey):
    with writing() as session:
        if body.owner is None:
            owner = session.get(User, holder.user_id)
        else:
            try:
                owner = users.require(session=session, username=body.owner)
            except UserError:
                if not _is_admin(holder):
                    raise ApiError(
                        403, "forbidden", "only an admin-scoped key manages other users' keys"
                    ) from None
                raise ApiError(404, "not_found", f"no user {body.owner!r}") from None
        _may_touch(holder, body.scope, owner.id)
        try:
            row, key = api_keys.create(
                session=session,
                owner=owner,
                scope=body.scope,
                name=body.name,
                expires_days=body.expires_days,
                allowed_ips=body.allowed_ips,
                actor=holder.actor,
                actor_user_id=holder.user_id,
                ip=request.remote_addr,
            )
        except ApiKeyError as error:
            raise ApiError(400, "invalid_body", str(error)) from None
        answer = {"key": key, "api_key": key_json(row, owner.username)}
    response = jsonify(answer)
    response.status_code = 201
    return response


class KeyFilters(Query):
    user: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="Only this user's keys (admin-scoped keys; others see their own)."
    )
    state: Literal["active", "expired", "revoked"] | None = None
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Keys per page (1 to 1000).")
    cursor: int | None = Field(None, ge=1, description="`next_cursor` of the previous page.")


@operation(
    "GET",
    "/auth/keys",
    summary="List API keys (your own; every user's with an admin-scoped key)",
    tag="auth",
    scope=Scope.READ,
    query=KeyFilters,
    response=obj({"items": array(KEY), "next_cursor": {"type": ["integer", "null"]}}),
    errors=(400, 404),
    description="Newest first, never the keys themselves. Pass `next_cursor` back as "
    "`cursor` for the next page.",
)
def list_keys(holder: KeyHolder, query: KeyFilters):
    with desk_db().reading() as session:
        conditions = []
        if query.user is not None and _is_admin(holder):
            try:
                owner_id = users.require(session=session, username=query.user).id
            except UserError:
                raise ApiError(404, "not_found", f"no user {query.user!r}") from None
            conditions.append(col(ApiKey.user_id) == owner_id)
        elif not _is_admin(holder) or query.user is not None:
            conditions.append(col(ApiKey.user_id) == holder.user_id)
        conditions += _state_conditions(query.state)
        found = listing.page(
            session=session,
            table=ApiKey,
            conditions=conditions,
            limit=query.limit,
            before_id=query.cursor,
        )
        owners = _owners(session, {key.user_id for key in found.rows})
    items = [key_json(key, owners[key.user_id]) for key in found.rows]
    return jsonify(items=items, next_cursor=found.next_before_id)


def _state_conditions(state: str | None) -> list:
    now = utcnow()
    if state == "revoked":
        return [col(ApiKey.revoked_at).is_not(None)]
    if state == "expired":
        return [col(ApiKey.revoked_at).is_(None), col(ApiKey.expires_at) <= now]
    if state == "active":
        return [
            col(ApiKey.revoked_at).is_(None),
            col(ApiKey.expires_at).is_(None) | (col(ApiKey.expires_at) > now),
        ]
    return []


def _owners(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.exec(select(User.id, User.username).where(col(User.id).in_(user_ids)))
    return dict(rows.all())


def _visible_key(session: Session, holder: KeyHolder, key_id: int) -> tuple[ApiKey, str]:
    """The key if the caller may see it; a 404 otherwise (someone else's key is not said
    to exist)."""
    key = session.get(ApiKey, key_id)
    if key is None or (key.user_id != holder.user_id and not _is_admin(holder)):
        raise ApiError(404, "not_found", f"no API key {key_id}")
    return key, _owners(session, {key.user_id})[key.user_id]


@operation(
    "GET",
    "/auth/keys/current",
    summary="The key this request was made with (to check a key works)",
    tag="auth",
    scope=Scope.READ,
    response=obj({**KEY["properties"], "effective_scope": {"enum": ["read", "trade", "admin"]}}),
)
def current_key(holder: KeyHolder):
    with desk_db().reading() as session:
        key, owner = _visible_key(session, holder, holder.key_id)
    return jsonify(**key_json(key, owner), effective_scope=holder.effective.value)


@operation(
    "GET",
    f"/auth/keys/<{ID}:key_id>",
    summary="One API key",
    tag="auth",
    scope=Scope.READ,
    response=KEY,
    errors=(404,),
)
def get_key(key_id: int, holder: KeyHolder):
    with desk_db().reading() as session:
        key, owner = _visible_key(session, holder, key_id)
    return jsonify(key_json(key, owner))


@operation(
    "DELETE",
    f"/auth/keys/<{ID}:key_id>",
    summary="Revoke an API key (it stops working at once)",
    tag="auth",
    scope=Scope.READ,
    response=KEY,
    errors=(403, 404, 409),
    description="Your own keys of at most the calling key's scope; any key with an "
    "admin-scoped key.",
)
def revoke_key(key_id: int, holder: KeyHolder):
    with writing() as session:
        key, owner = _visible_key(session, holder, key_id)
        _may_touch(holder, key.scope, key.user_id)
        if key.revoked_at is not None:
            raise ApiError(409, "already_revoked", f"the key {key.prefix} is already revoked")
        api_keys.revoke(
            session=session,
            prefix=key.prefix,
            actor=holder.actor,
            actor_role=holder.acting_role,
            actor_user_id=holder.user_id,
            ip=request.remote_addr,
        )
        answer = key_json(key, owner)
    return jsonify(answer)
