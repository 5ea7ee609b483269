"""Signal webhooks for subscribers: register, list, delete (each key's owner their own).

Every signal event the webhook wants (signal.created, signal.executed, signal.rejected),
within its filters, is POSTed to its URL as JSON and signed: `X-Botdesk-Timestamp` (Unix
seconds) and `X-Botdesk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under
the secret>`, with `X-Botdesk-Event-Id` (the same on a repeat). The secret is in the
answer to the registration, once. Deliveries are retried like the notification channels.
"""

from typing import Annotated, Literal

from flask import jsonify, request
from pydantic import Field, StrictFloat, StrictInt, StrictStr

from botdesk.app.api.analysis_schemas import array, obj
from botdesk.app.api.errors import ApiError
from botdesk.app.api.idempotency import writing
from botdesk.app.api.inputs import Body
from botdesk.app.api.routing import ID, operation
from botdesk.app.context import desk_db, desk_settings
from botdesk.db import signal_webhooks
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Scope
from botdesk.db.signal_webhooks import WebhookError

SIGNAL_EVENT = Literal["signal.created", "signal.executed", "signal.rejected"]
WEBHOOK = obj(
    {
        "id": {"type": "integer"},
        "url": {"type": "string", "description": "masked: the path and query are not shown"},
        "events": array({"enum": ["signal.created", "signal.executed", "signal.rejected"]}),
        "filters": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": "string"},
    }
)


class Filters(Body):
    symbols: (
        Annotated[
            list[Annotated[StrictStr, Field(pattern=r"^[A-Z0-9]{2,20}$")]], Field(max_length=100)
        ]
        | None
    ) = None
    strategies: (
        Annotated[
            list[Annotated[StrictStr, Field(min_length=1, max_length=64)]], Field(max_length=100)
        ]
        | None
    ) = None
    min_confidence: Annotated[StrictFloat | StrictInt, Field(ge=0, le=1)] | None = None


class NewWebhook(Body):
    url: Annotated[StrictStr, Field(min_length=1, max_length=signal_webhooks.MAX_URL)]
    events: Annotated[list[SIGNAL_EVENT], Field(min_length=1, max_length=3)]
    filters: Filters | None = None


@operation(
    "POST",
    "/webhooks",
    summary="Register a signal webhook (its signing secret is in the answer, once)",
    tag="webhooks",
    scope=Scope.READ,
    body=NewWebhook,
    status=201,
    response=obj({"webhook": WEBHOOK, "secret": {"type": "string"}}),
    errors=(400,),
    description="`url` is http:// or https:// on a public host; `events` one or more of "
    "signal.created, signal.executed, signal.rejected; `filters` narrow them by symbols, "
    "strategies and least confidence. Each delivery is a JSON POST with "
    "X-Botdesk-Timestamp and X-Botdesk-Signature (sha256=HMAC-SHA256 of "
    '"<timestamp>.<body>" under the secret) and X-Botdesk-Event-Id.',
)
def register_webhook(holder: KeyHolder, body: NewWebhook):
    filters = body.filters.model_dump(exclude_none=True) if body.filters else None
    with writing() as session:
        try:
            registered = signal_webhooks.register(
                session=session,
                url=body.url,
                events=list(body.events),
                filters=filters,
                owner_id=holder.user_id,
                api_key_id=holder.key_id,
                by=holder.actor,
                ip=request.remote_addr,
                settings=desk_settings(),
            )
        except WebhookError as error:
            raise ApiError(400, "invalid_body", str(error)) from None
        answer = {
            "webhook": signal_webhooks.as_json(registered.webhook),
            "secret": registered.secret,
        }
    response = jsonify(answer)
    response.status_code = 201
    return response


@operation(
    "GET",
    "/webhooks",
    summary="List your signal webhooks",
    tag="webhooks",
    scope=Scope.READ,
    response=obj({"items": array(WEBHOOK)}),
    description="The calling key's owner's webhooks, URLs masked, secrets never shown.",
)
def list_webhooks(holder: KeyHolder):
    with desk_db().reading() as session:
        items = signal_webhooks.listed(session=session, owner_id=holder.user_id)
        answer = {"items": [signal_webhooks.as_json(item) for item in items]}
    return jsonify(answer)


@operation(
    "DELETE",
    f"/webhooks/<{ID}:webhook_id>",
    summary="Delete one of your signal webhooks",
    tag="webhooks",
    scope=Scope.READ,
    response=WEBHOOK,
    errors=(404,),
    description="Answers the webhook as it was; deliveries still queued for it are dropped.",
)
def delete_webhook(webhook_id: int, holder: KeyHolder):
    with writing() as session:
        webhook = session.get(signal_webhooks.SignalWebhook, webhook_id)
        answer = signal_webhooks.as_json(webhook) if webhook else None
        deleted = signal_webhooks.delete(
            session=session,
            webhook_id=webhook_id,
            owner_id=holder.user_id,
            by=holder.actor,
            ip=request.remote_addr,
        )
    if not deleted:
        raise ApiError(404, "not_found", f"no webhook {webhook_id} of yours")
    return jsonify(answer)
