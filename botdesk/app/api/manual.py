"""What the manual-order endpoints share: exact amounts in bodies, the issuer (the calling
key), and `botdesk.db.manual_orders`' refusals as API errors."""

from decimal import Decimal
from typing import Annotated

from flask import request
from pydantic import Field, StrictInt, StrictStr, WithJsonSchema

from botdesk.app.api.errors import ApiError
from botdesk.app.api.idempotency import writing
from botdesk.app.api.inputs import UtcTime
from botdesk.db.api_keys import KeyHolder
from botdesk.db.manual_inputs import ManualOrderRefused
from botdesk.db.manual_orders import Issuer
from botdesk.db.models import Command

# An exact amount: a JSON number or a string of one (checked by botdesk.db.manual_orders:
# above 0, at most 8 decimals, at most 1e9)
Amount = Annotated[
    StrictStr | StrictInt | Decimal,
    WithJsonSchema(
        {
            "type": ["string", "number"],
            "description": "Exact: above 0, at most 8 decimals (a string keeps it exact).",
            "examples": ["0.01", "61000.5"],
        }
    ),
]


# When a GTD order expires: an RFC 3339 time with a zone (bodies are strict; a time is text)
ExpiresAt = Annotated[UtcTime, Field(strict=False)]


def issuer(holder: KeyHolder) -> Issuer:
    return Issuer(
        by=holder.actor,
        role=holder.acting_role,
        via="api",
        ip=request.remote_addr,
        user_id=holder.user_id,
    )


def queue_manual(action, holder: KeyHolder, **fields) -> Command:
    """Run one of `botdesk.db.manual_orders`' queueing functions as the calling key."""
    try:
        with writing() as session:
            return action(session=session, issuer=issuer(holder), **fields)
    except ManualOrderRefused as refused:
        raise ApiError(refused.status, refused.code, str(refused)) from None
